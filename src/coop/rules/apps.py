from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "coop.rules"
    label = "rules"
