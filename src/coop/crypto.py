"""Encryption of secrets stored in the database (signing keys, integration credentials).

The Fernet key is derived from `settings.SECRET_KEY` with HKDF, so a deployment has one secret
to keep; changing `COOP_SECRET_KEY` makes previously stored secrets unreadable.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_HKDF_INFO = b"coop:stored-secrets:v1"


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(data: bytes) -> bytes:
    """Authenticated encryption (Fernet: AES-128-CBC + HMAC-SHA256) of `data`."""
    return _fernet(settings.SECRET_KEY).encrypt(data)


def decrypt(token: bytes) -> bytes:
    """The clear bytes of `token`; raises `cryptography.fernet.InvalidToken` if tampered with."""
    return _fernet(settings.SECRET_KEY).decrypt(bytes(token))
