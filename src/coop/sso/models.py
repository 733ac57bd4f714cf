"""Single sign-on settings and the SAML requests in flight (accounts.md, SSO).

SSO is configured in the console only: config.md's file has no SSO block, and the OIDC client
secret is a credential (stored encrypted, never exported or shown).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from coop.accounts.models import Role


class PasswordSignIn(models.TextChoices):
    """Who may still sign in with a password while SSO is on (accounts.md: admins always can,
    unless "SSO only" is explicitly set). "Administrators" are users whose role grants
    MANAGE_ORG: the people who can repair the SSO settings."""

    EVERYONE = "EVERYONE", "Everyone"
    ADMINS = "ADMINS", "Administrators only"
    NOBODY = "NOBODY", "Nobody (SSO only)"


DEFAULT_BUTTON_LABEL = "Sign in with SSO"


class SsoSettings(models.Model):
    """The one row of SSO settings (pk 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)

    saml_enabled = models.BooleanField(default=False)
    saml_metadata = models.TextField(blank=True, default="")
    # Empty: the email is the assertion's NameID.
    saml_email_attribute = models.CharField(max_length=200, blank=True, default="email")
    saml_label = models.CharField(max_length=60, default=DEFAULT_BUTTON_LABEL)

    oidc_enabled = models.BooleanField(default=False)
    oidc_issuer = models.CharField(max_length=500, blank=True, default="")
    oidc_client_id = models.CharField(max_length=500, blank=True, default="")
    # coop.catalog.credentials' stored form ({"encrypted": …}); NULL when never set.
    oidc_client_secret = models.JSONField(null=True, blank=True)
    oidc_email_claim = models.CharField(max_length=100, default="email")
    oidc_scopes = models.CharField(max_length=500, default="openid email profile")
    oidc_label = models.CharField(max_length=60, default=DEFAULT_BUTTON_LABEL)

    jit_enabled = models.BooleanField(default=False)
    # SET_NULL, not PROTECT: deleting a role must not fail here; JIT without a role is off.
    jit_role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    jit_domains = ArrayField(models.CharField(max_length=253), default=list, blank=True)
    password_sign_in = models.CharField(
        max_length=8, choices=PasswordSignIn.choices, default=PasswordSignIn.EVERYONE
    )

    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="sso_settings_single_row"),
            models.CheckConstraint(
                condition=models.Q(password_sign_in__in=PasswordSignIn.values),
                name="sso_settings_password_sign_in_valid",
            ),
        ]

    @property
    def any_enabled(self) -> bool:
        return self.saml_enabled or self.oidc_enabled


class SamlRequest(models.Model):
    """An AuthnRequest Coop sent, until its response is used.

    The IdP posts the response cross-site, so the browser does not send the (SameSite=Lax)
    session cookie to the ACS: the request is found by the response's InResponseTo instead. The
    ACS then redirects the browser to the completion URL with a one-time token; that top-level
    GET carries the session cookie, whose `browser` value must match (so a response cannot be
    planted in someone else's browser).
    """

    id = models.CharField(primary_key=True, max_length=100)  # the AuthnRequest ID
    browser = models.CharField(max_length=64)  # SHA-256 of a random value kept in the session
    next_url = models.CharField(max_length=2000, default="/")
    created_at = models.DateTimeField(default=timezone.now)
    # Set by the ACS once the response passed every check.
    consumed_at = models.DateTimeField(null=True, blank=True)
    assertion_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    email = models.CharField(max_length=254, blank=True, default="")
    name = models.CharField(max_length=200, blank=True, default="")
    token_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    # Set when the browser came back and the sign-in was decided.
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]
