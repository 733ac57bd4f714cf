"""SSO settings, who may use a password, and the Coop user an IdP-verified email stands for."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from coop.accounts.models import Role, User
from coop.accounts.permissions import Permission
from coop.catalog.credentials import encrypt_credential
from coop.sso import oidc
from coop.sso.models import PasswordSignIn, SsoSettings

logger = logging.getLogger("coop.sso")


def current() -> SsoSettings:
    """The SSO settings (defaults until first saved)."""
    return SsoSettings.objects.select_related("jit_role").filter(pk=1).first() or SsoSettings()


def _save(user: User | None, **fields) -> SsoSettings:
    with transaction.atomic():
        sso, _ = SsoSettings.objects.select_for_update().get_or_create(pk=1)
        for name, value in fields.items():
            setattr(sso, name, value)
        sso.updated_at = timezone.now()
        sso.updated_by = user
        sso.save()
    return sso


def save_saml(
    user: User | None, *, enabled: bool, metadata: str, email_attribute: str, label: str
) -> SsoSettings:
    """Store validated SAML settings (coop.sso.forms.SamlForm checks them)."""
    return _save(
        user,
        saml_enabled=enabled,
        saml_metadata=metadata,
        saml_email_attribute=email_attribute,
        saml_label=label,
    )


def save_oidc(
    user: User | None,
    *,
    enabled: bool,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    email_claim: str,
    scopes: str,
    label: str,
) -> SsoSettings:
    """Store validated OIDC settings; a None secret keeps the stored one."""
    fields = {
        "oidc_enabled": enabled,
        "oidc_issuer": issuer,
        "oidc_client_id": client_id,
        "oidc_email_claim": email_claim,
        "oidc_scopes": scopes,
        "oidc_label": label,
    }
    if client_secret is not None:
        fields["oidc_client_secret"] = encrypt_credential(client_secret)
    sso = _save(user, **fields)
    oidc.forget_cached()
    return sso


def save_sign_in(
    user: User | None,
    *,
    password_sign_in: str,
    jit_enabled: bool,
    jit_role: Role | None,
    jit_domains: list[str],
) -> SsoSettings:
    return _save(
        user,
        password_sign_in=password_sign_in,
        jit_enabled=jit_enabled,
        jit_role=jit_role,
        jit_domains=jit_domains,
    )


def password_sign_in_allowed(user: User) -> bool:
    """Whether `user` may sign in with a password now. The restriction applies only while an
    SSO method is enabled, so turning SSO off can never lock everyone out."""
    sso = current()
    if not sso.any_enabled or sso.password_sign_in == PasswordSignIn.EVERYONE:
        return True
    if sso.password_sign_in == PasswordSignIn.ADMINS:
        return user.has_permission(Permission.MANAGE_ORG)
    return False


# --- Matching the IdP's user ---------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who the IdP vouched for. The email is lower-cased and valid."""

    email: str
    name: str
    method: str  # "saml" or "oidc"


class SignInDenied(Exception):
    """The IdP vouched for the person, but Coop does not let them in. The message may be shown
    (the person proved who they are); `reason` is for the log."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def user_for(identity: Identity, sso: SsoSettings) -> User:
    """The active user with that email (case-insensitive), created just in time when the
    settings allow it; SignInDenied otherwise. Nothing is created on a denial."""
    user = User.objects.select_related("role").filter(email__iexact=identity.email).first()
    if user is None:
        user = _create_just_in_time(identity, sso)
    if not user.is_active:
        raise SignInDenied(
            f"The Coop account of {identity.email} is deactivated. Ask your administrator.",
            "the account is deactivated",
        )
    return user


def _create_just_in_time(identity: Identity, sso: SsoSettings) -> User:
    no_account = (
        f"There is no Coop account for {identity.email}. "
        "Ask your administrator to invite you, then sign in again."
    )
    if not sso.jit_enabled or sso.jit_role is None:
        raise SignInDenied(no_account, "no account with that email and just-in-time creation off")
    domain = identity.email.rsplit("@", 1)[1]
    if sso.jit_domains and domain not in sso.jit_domains:
        raise SignInDenied(no_account, f"no account, and {domain} is not a just-in-time domain")
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=identity.email, role=sso.jit_role, name=identity.name
            )
    except IntegrityError:  # a concurrent first sign-in created it
        return User.objects.select_related("role").get(email__iexact=identity.email)
    logger.info(
        "SSO (%s) created %s just in time with the role %s",
        identity.method,
        user.email,
        sso.jit_role.name,
    )
    return user
