import pytest
from cryptography.fernet import InvalidToken
from django.test import override_settings

from coop import crypto


def test_round_trip():
    token = crypto.encrypt(b"s3cret value")
    assert b"s3cret" not in token
    assert crypto.decrypt(token) == b"s3cret value"


def test_ciphertexts_differ_each_time():
    assert crypto.encrypt(b"x") != crypto.encrypt(b"x")


def test_key_follows_the_secret_key():
    token = crypto.encrypt(b"x")
    with override_settings(SECRET_KEY="another-secret-key"), pytest.raises(InvalidToken):
        crypto.decrypt(token)


def test_tampering_is_detected():
    token = bytearray(crypto.encrypt(b"x"))
    token[-5] ^= 1
    with pytest.raises(InvalidToken):
        crypto.decrypt(bytes(token))


def test_accepts_memoryview_from_binary_fields():
    assert crypto.decrypt(memoryview(crypto.encrypt(b"x"))) == b"x"
