from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "coop.web"
    label = "web"
