from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
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
        return frozenset(self.role.permissions) if self.is_active else frozenset()


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
