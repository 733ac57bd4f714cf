from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "coop.signals"
    label = "signals"
