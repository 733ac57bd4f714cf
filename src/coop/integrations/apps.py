from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Third-party classifier integrations, HTTP signals and partial items (outgoing calls)."""

    name = "coop.integrations"
    label = "integrations"
