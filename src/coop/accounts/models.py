from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from coop.accounts.permissions import Permission
from coop.core.enums import ColorScheme

# How long a retired signing key stays published, so receivers can roll over (api.md).
SIGNING_KEY_GRACE = timedelta(hours=24)


class Role(models.Model):
    """A named set of permissions. The seven predefined roles are created by migration."""

    name = models.CharField(max_length=64, unique=True)
    permissions = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    predefined = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            # "moderator" beside "Moderator" would be two roles nobody can tell apart.
            models.UniqueConstraint(Lower("name"), name="role_name_unique_ignoring_case"),
        ]

    def __str__(self) -> str:
        return self.name

    def grants(self, permission: Permission | str) -> bool:
        return str(permission) in self.permissions


# Wellness (accounts.md): 0 = no blur … 6 = strongest.
BLUR_LEVELS = range(7)


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, role: Role, password: str | None = None, **extra) -> User:
        user = self.model(email=self.normalize_email(email).lower(), role=role, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="users")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Personal wellness overrides; NULL means "use the organisation default".
    wellness_blur_level = models.PositiveSmallIntegerField(null=True, blank=True)
    wellness_color_scheme = models.CharField(  # noqa: DJ001 - NULL is "use the default"
        max_length=10, choices=ColorScheme.choices, null=True, blank=True
    )
    wellness_mute_video = models.BooleanField(null=True, blank=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    objects = UserManager()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(wellness_blur_level__lte=max(BLUR_LEVELS)),
                name="user_wellness_blur_level_range",
            ),
            models.CheckConstraint(
                condition=models.Q(wellness_color_scheme__in=ColorScheme.values),
                name="user_wellness_color_scheme_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def has_permission(self, permission: Permission | str) -> bool:
        return self.is_active and self.role.grants(permission)

    @property
    def permissions(self) -> frozenset[str]:
        return self.role_permissions if self.is_active else frozenset()

    @property
    def role_permissions(self) -> frozenset[str]:
        """What the role grants, whether or not the account is active."""
        return frozenset(self.role.permissions)


class ApiKey(models.Model):
    """A platform API key. Only the SHA-256 of the key is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise a key.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SigningKey(models.Model):
    """The RSA key pair that signs outgoing webhooks. The private key is encrypted at rest."""

    public_pem = models.TextField()
    private_key_encrypted = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["retired_at"],
                condition=models.Q(retired_at__isnull=True),
                name="one_active_signing_key",
                nulls_distinct=False,
            )
        ]

    @property
    def listed_until(self) -> datetime | None:
        """When a retired key stops being published as "previous"."""
        return self.retired_at + SIGNING_KEY_GRACE if self.retired_at else None


class UserSession(AbstractBaseSession):
    """A console session, with its user, so one user's sessions can be ended at once
    (deactivation, password change or reset) without reading every session."""

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions"
    )

    @classmethod
    def get_session_store_class(cls):
        from coop.accounts.sessions import SessionStore

        return SessionStore


class Invite(models.Model):
    """An invitation to join with a role. Only the SHA-256 of the link's token is stored."""

    email = models.EmailField()
    # Deleting a role is refused while an open invite has it; closed invites go with it.
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="invites")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invite_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"invite for {self.email}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class PasswordResetToken(models.Model):
    """A password-reset link (SHA-256 of its token). Deleted when used, and with every other
    token of the user when their password changes."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()


class PasswordResetRequest(models.Model):
    """One "Forgot password?" request, kept for the throttle window only (rows older than it
    are deleted as new ones arrive)."""

    email = models.CharField(max_length=254, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
