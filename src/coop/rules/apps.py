from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "coop.rules"
    label = "rules"

    def ready(self) -> None:
        # Procrastinate discovers `tasks` modules only; the run task lives in its own module.
        from coop.rules import run_tasks  # noqa: F401
