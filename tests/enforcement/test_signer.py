"""Webhook signatures, verified the way a platform would: public PEM + a standard library."""

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings as django_settings

from coop.accounts.services import active_signing_key, rotate_signing_key
from coop.enforcement.signer import sign

pytestmark = pytest.mark.django_db

BODY = b'{"action":{"id":"delete"},"item":{"id":"p1","typeId":"post"},"policies":[]}'
SNIPPETS = Path(django_settings.BASE_DIR) / "web" / "templates" / "web" / "settings"


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


def test_python_snippet_from_the_settings_page(tmp_path, monkeypatch):
    (tmp_path / "coop-webhook-public-key.pem").write_text(active_signing_key().public_pem)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec((SNIPPETS / "verify.py.txt").read_text(), namespace)  # noqa: S102
    signature = sign(BODY)
    assert namespace["is_from_coop"](BODY, signature)
    assert not namespace["is_from_coop"](b"{}", signature)
    assert not namespace["is_from_coop"](BODY, "not base64!")


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_javascript_snippet_from_the_settings_page(tmp_path):
    (tmp_path / "coop-webhook-public-key.pem").write_text(active_signing_key().public_pem)
    (tmp_path / "body.json").write_bytes(BODY)
    signature = sign(BODY)
    script = (SNIPPETS / "verify.js.txt").read_text() + (
        "\nconst body = fs.readFileSync('body.json');"
        f"\nconsole.log(isFromCoop(body, '{signature}'),"
        f" isFromCoop(Buffer.from('{{}}'), '{signature}'));"
    )
    result = subprocess.run(
        ["node", "-e", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "true false"
