from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "coop.review"
    label = "review"

    def ready(self) -> None:
        from coop.review import builtin_actions

        builtin_actions.register()
