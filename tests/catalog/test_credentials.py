"""Credentials are stored encrypted or as environment references, never in clear (config.md)."""

import pytest

from coop.catalog.credentials import (
    CredentialError,
    credential_problem,
    describe_credential,
    encrypt_credential,
    resolve_credential,
)


def test_a_console_value_is_stored_encrypted_and_read_back():
    stored = encrypt_credential("sk-very-secret")
    assert "sk-very-secret" not in repr(stored)
    assert credential_problem(stored) is None
    assert resolve_credential(stored) == "sk-very-secret"
    assert describe_credential(stored) == "set (encrypted)"


def test_an_environment_reference_is_read_when_used(monkeypatch):
    stored = {"secret": "SECRET_OPENAI_KEY"}
    with pytest.raises(CredentialError, match="SECRET_OPENAI_KEY is not set"):
        resolve_credential(stored)
    monkeypatch.setenv("SECRET_OPENAI_KEY", "sk-env")
    assert resolve_credential(stored) == "sk-env"


@pytest.mark.parametrize("variable", ["COOP_SECRET_KEY", "DATABASE_URL", "SECRET_"])
def test_only_prefixed_environment_variables_can_be_named(variable):
    assert "SECRET_" in credential_problem({"secret": variable})


def test_a_token_from_another_secret_key_is_refused_with_a_reason(settings):
    stored = encrypt_credential("value")
    settings.SECRET_KEY = "another deployment's key, long enough to be a real one"
    assert "another COOP_SECRET_KEY" in credential_problem(stored)
    with pytest.raises(CredentialError):
        resolve_credential(stored)


@pytest.mark.parametrize("raw", ["clear text", {"secret": "SECRET_A", "x": 1}, None, {}])
def test_anything_else_is_not_a_credential(raw):
    assert credential_problem(raw) is not None
