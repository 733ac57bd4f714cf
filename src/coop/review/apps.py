from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "coop.review"
    label = "review"

    def ready(self) -> None:
        from coop.review import builtin_actions
        from coop.review.audit import log_retroaction
        from coop.rules.runs import register_decision_log

        builtin_actions.register()
        register_decision_log(log_retroaction)
