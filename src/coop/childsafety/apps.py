from django.apps import AppConfig


class ChildSafetyConfig(AppConfig):
    name = "coop.childsafety"
    label = "childsafety"

    def ready(self) -> None:
        from coop.childsafety import builtin_actions

        builtin_actions.register()
