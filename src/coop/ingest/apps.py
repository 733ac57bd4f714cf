from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "coop.ingest"
    label = "ingest"
