from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "coop.review"
    label = "review"
