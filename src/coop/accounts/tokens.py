"""One-time link tokens (invites, password resets): 32 random bytes in the URL, only their
SHA-256 in the database, so a copy of the database opens no account."""

from __future__ import annotations

import hashlib
import secrets

# token_urlsafe(32) is 43 characters; anything much longer is not one of ours and is not hashed.
MAX_TOKEN_LENGTH = 64


def new_token() -> tuple[str, str]:
    """A fresh token and its hash: the token goes into the link, the hash into the database."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lookup_hash(token: str) -> str | None:
    """The hash to look a link's token up by, or None for input that cannot be a token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return hash_token(token)
