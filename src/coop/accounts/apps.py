from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "coop.accounts"
    label = "accounts"
