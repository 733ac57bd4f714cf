from django.apps import AppConfig


class HmaConfig(AppConfig):
    """An external Hasher-Matcher-Actioner: bank sync, lookups and exchanges (HMA_SERVICE_URL)."""

    name = "coop.hma"
    label = "hma"
