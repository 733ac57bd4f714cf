"""The `Coop-Signature` of outgoing webhooks (api.md, common rules for every outgoing request)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from coop import crypto
from coop.accounts.services import active_signing_key


@lru_cache(maxsize=4)
def _private_key(encrypted: bytes) -> rsa.RSAPrivateKey:
    """Parsed private keys by their stored bytes: a key never changes, only which one is active."""
    private_key = serialization.load_pem_private_key(crypto.decrypt(encrypted), password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    return private_key


def sign(body: bytes) -> str:
    """Base64 RSASSA-PKCS1-v1_5 SHA-256 signature of the exact `body` bytes, with the active key.

    The active key is read from the database on every call, so a rotation applies at once.
    """
    return sign_all([body])[0]


def sign_all(bodies: list[bytes]) -> list[str]:
    """`sign` for a batch of bodies, reading the active key once."""
    signer = active_signer()
    return [signer(body) for body in bodies]


def active_signer() -> Callable[[bytes], str]:
    """`sign` with the key active now, read once: for threads without a database connection."""
    key = _private_key(bytes(active_signing_key().private_key_encrypted))
    return lambda body: base64.b64encode(
        key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    ).decode("ascii")
