from django.apps import AppConfig


class EnforcementConfig(AppConfig):
    name = "coop.enforcement"
    label = "enforcement"
