from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "coop.api"
    label = "api"
