from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "coop.insights"
    label = "insights"
