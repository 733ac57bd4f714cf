from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "coop.warehouse"
    label = "warehouse"
