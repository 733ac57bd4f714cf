"""Credentials of integrations and NCMEC (config.md: `!secret` values, encrypted at rest).

A credential is stored in one of two forms, and every reader and writer goes through here:

- `{"secret": "SECRET_NAME"}`: a reference to an environment variable (the file's
  `!secret SECRET_NAME`), read when the credential is used; exported as written.
- `{"encrypted": "<Fernet token>"}`: a value typed in the console, encrypted with the key
  derived from COOP_SECRET_KEY (coop.crypto). Exported as the same token, never in clear, so
  export then apply is a no-op on the same deployment; on a deployment with another secret key
  the token does not decrypt and the file is refused with a message saying so.
"""

from __future__ import annotations

import os
import re
from typing import Any

from cryptography.fernet import InvalidToken

from coop import crypto
from coop.outbound import secret_problem

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class CredentialError(ValueError):
    """A credential that cannot be read; the message says why, without the value."""


def is_credential(raw: Any) -> bool:
    return isinstance(raw, dict) and (set(raw) == {"secret"} or set(raw) == {"encrypted"})


def credential_problem(raw: Any) -> str | None:
    """Why `raw` is not a storable credential, or None (used by the file schema on save)."""
    if not is_credential(raw):
        return "must be !secret NAME (an environment variable) or a value set in the console"
    if "secret" in raw:
        variable = str(raw["secret"])
        if not _VARIABLE.fullmatch(variable):
            return "!secret needs an environment variable name"
        problem = secret_problem(variable)
        return f"!secret: {problem}" if problem else None
    try:
        crypto.decrypt(str(raw["encrypted"]).encode("ascii"))
    except (InvalidToken, UnicodeEncodeError, ValueError):
        return (
            "was encrypted with another COOP_SECRET_KEY and cannot be read here; "
            "set it again in the console or use !secret NAME"
        )
    return None


def encrypt_credential(value: str) -> dict[str, str]:
    """The stored form of a value typed in the console."""
    return {"encrypted": crypto.encrypt(value.encode("utf-8")).decode("ascii")}


def resolve_credential(stored: Any) -> str:
    """The clear value of a stored credential, at the moment it is used."""
    problem = credential_problem(stored)
    if problem:
        raise CredentialError(problem)
    if "secret" in stored:
        value = os.environ.get(stored["secret"])
        if value is None:
            raise CredentialError(f"environment variable {stored['secret']} is not set")
        return value
    return crypto.decrypt(stored["encrypted"].encode("ascii")).decode("utf-8")


def describe_credential(stored: Any) -> str:
    """What the console shows instead of the value: where it comes from, never the value."""
    if not is_credential(stored):
        return "not set"
    if "secret" in stored:
        return f"from the environment variable {stored['secret']}"
    return "set (encrypted)"
