from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "coop.catalog"
    label = "catalog"
