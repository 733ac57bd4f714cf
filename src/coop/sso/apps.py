from django.apps import AppConfig


class SsoConfig(AppConfig):
    """Single sign-on: SAML 2.0 and OpenID Connect identity providers (accounts.md, SSO)."""

    name = "coop.sso"
    label = "sso"
