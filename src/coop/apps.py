from django.apps import AppConfig


class CoopConfig(AppConfig):
    """The project itself, so that `coop.management.commands` are found."""

    name = "coop"
    label = "coop"
