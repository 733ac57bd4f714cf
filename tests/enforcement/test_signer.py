"""Webhook signatures, verified the way a platform would: public PEM + a standard library.

The verification code the console shows is run in tests/web/test_signing_key_snippets.py."""

import base64

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from coop.accounts.services import active_signing_key, rotate_signing_key
from coop.enforcement.signer import sign

pytestmark = pytest.mark.django_db

BODY = b'{"action":{"id":"delete"},"item":{"id":"p1","typeId":"post"},"policies":[]}'


def verify(public_pem: str, body: bytes, signature: str) -> bool:
    public_key = serialization.load_pem_public_key(public_pem.encode())
    try:
        public_key.verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def test_signature_verifies_with_only_the_public_pem():
    signature = sign(BODY)
    public_pem = active_signing_key().public_pem
    assert verify(public_pem, BODY, signature)
    assert not verify(public_pem, BODY + b" ", signature)
    assert len(base64.b64decode(signature)) == 256  # 2048-bit key


def test_a_key_is_generated_when_none_exists():
    assert verify(active_signing_key().public_pem, BODY, sign(BODY))


def test_rotation_takes_effect_at_once():
    old_pem = active_signing_key().public_pem
    assert verify(old_pem, BODY, sign(BODY))
    new_pem = rotate_signing_key().public_pem
    signature = sign(BODY)
    assert verify(new_pem, BODY, signature)
    assert not verify(old_pem, BODY, signature)
