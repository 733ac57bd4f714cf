from django.apps import AppConfig


class ChildSafetyConfig(AppConfig):
    name = "coop.childsafety"
    label = "childsafety"
