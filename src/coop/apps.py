from django.apps import AppConfig


class CoopConfig(AppConfig):
    """The project itself, so that `coop.management.commands` are found."""

    name = "coop"
    label = "coop"

    def ready(self) -> None:
        from django.core import checks

        from coop.mail import check_email_url

        checks.register(check_email_url)
