"""Account services: users, platform API keys and the webhook signing key."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from coop import crypto
from coop.accounts.models import (
    BLUR_LEVELS,
    SIGNING_KEY_GRACE,
    ApiKey,
    ColorScheme,
    PasswordResetToken,
    Role,
    SigningKey,
    User,
    UserSession,
)

LAST_USED_RESOLUTION = timedelta(minutes=1)
# Any fixed number: the advisory lock that serialises signing-key rotations.
SIGNING_KEY_ROTATION_LOCK = 0x436F6F70_5349474E
SIGNING_KEY_BITS = 2048


class AccountError(Exception):
    """A request the caller can fix (unknown role, duplicate email, weak password); `field`
    names the form field at fault, when one is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- Users ---------------------------------------------------------------------------------


def generate_password() -> str:
    return secrets.token_urlsafe(16)


def create_user(email: str, role_name: str, password: str | None = None) -> tuple[User, str]:
    """Create a user; returns the user and the password (generated when none is given)."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AccountError(f"{email!r} is not a valid email address.") from exc
    role = Role.objects.filter(name=role_name).first()
    if role is None:
        known = ", ".join(Role.objects.values_list("name", flat=True))
        raise AccountError(f"Unknown role {role_name!r}. Roles: {known}.")
    password = password or generate_password()
    try:
        validate_password(password)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from exc
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, role=role, password=password)
    except IntegrityError as exc:
        raise AccountError(f"A user with the email {email} already exists.") from exc
    return user, password


def end_sessions(user: User, keep_session_key: str | None = None) -> int:
    """Sign `user` out everywhere (but in the session `keep_session_key`); the number ended."""
    sessions = UserSession.objects.filter(user=user)
    if keep_session_key:
        sessions = sessions.exclude(session_key=keep_session_key)
    return sessions.delete()[0]


def deactivate_user(user: User) -> None:
    """Deactivate `user`: their sessions and password-reset links end at once.

    Sessions of inactive users are also refused on every request (the auth backend checks
    `is_active`), so even a flag flipped by hand signs the user out.
    """
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        end_sessions(user)
        PasswordResetToken.objects.filter(user=user).delete()


def set_wellness_preferences(
    user: User,
    *,
    blur_level: int | None,
    color_scheme: ColorScheme | None,
    mute_video: bool | None,
) -> None:
    """Store `user`'s personal overrides; None means "use the organisation default"."""
    if blur_level is not None and blur_level not in BLUR_LEVELS:
        raise AccountError(f"Blur level must be from 0 to {max(BLUR_LEVELS)}.")
    if color_scheme is not None and color_scheme not in ColorScheme.values:
        raise AccountError(f"Colour scheme must be one of {', '.join(ColorScheme.values)}.")
    user.wellness_blur_level = blur_level
    user.wellness_color_scheme = color_scheme
    user.wellness_mute_video = mute_video
    user.save(update_fields=["wellness_blur_level", "wellness_color_scheme", "wellness_mute_video"])


# --- Platform API keys ---------------------------------------------------------------------


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(name: str, created_by: User | None = None) -> tuple[ApiKey, str]:
    """Create a key; the clear text is returned once and never stored."""
    key = secrets.token_hex(32)
    api_key = ApiKey.objects.create(
        name=name, key_hash=hash_api_key(key), prefix=key[:8], created_by=created_by
    )
    return api_key, key


def authenticate_api_key(key: str | None) -> ApiKey | None:
    """The active key matching `key`, with `last_used_at` refreshed at most once a minute."""
    if not key:
        return None
    api_key = ApiKey.objects.filter(key_hash=hash_api_key(key), revoked_at__isnull=True).first()
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def revoke_api_key(key_id) -> ApiKey:
    api_key = ApiKey.objects.get(pk=key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


# --- Webhook signing key -------------------------------------------------------------------
# Nothing here is cached per process: every caller reads the active key from the database, so a
# rotation takes effect everywhere at once.


def _new_key_material() -> tuple[str, bytes]:
    """A fresh RSA key pair: (public PEM, encrypted private PEM)."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=SIGNING_KEY_BITS)
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return public_pem, crypto.encrypt(private_pem)


def active_signing_key() -> SigningKey:
    """The key that signs webhooks now, generated on first use.

    Concurrent first uses race on the `one_active_signing_key` constraint; the losers read the
    winner's key, so every process signs with the same key.
    """
    key = SigningKey.objects.filter(retired_at__isnull=True).first()
    if key is not None:
        return key
    public_pem, private_encrypted = _new_key_material()
    try:
        with transaction.atomic():
            return SigningKey.objects.create(
                public_pem=public_pem, private_key_encrypted=private_encrypted
            )
    except IntegrityError:
        return SigningKey.objects.get(retired_at__isnull=True)


def rotate_signing_key() -> SigningKey:
    """Retire the active key (still published for `SIGNING_KEY_GRACE`) and activate a new one.

    Rotations take a transaction-scoped advisory lock, so concurrent ones run one after
    the other (each retiring the key the previous one made) instead of colliding.
    """
    public_pem, private_encrypted = _new_key_material()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SIGNING_KEY_ROTATION_LOCK])
        now = timezone.now()
        SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=now)
        return SigningKey.objects.create(
            public_pem=public_pem, private_key_encrypted=private_encrypted, created_at=now
        )


def public_keys() -> list[SigningKey]:
    """The active key first, then keys retired within the grace period (newest first)."""
    active = active_signing_key()
    previous = SigningKey.objects.filter(
        retired_at__gte=timezone.now() - SIGNING_KEY_GRACE
    ).order_by("-retired_at")
    return [active, *previous]
