"""Account services: API keys (more arrive with users, invites and roles)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from coop.accounts.models import ApiKey, User

LAST_USED_RESOLUTION = timedelta(minutes=1)


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
