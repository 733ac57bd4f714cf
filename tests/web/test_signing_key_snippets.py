"""The verification code of Settings → Signing key works when pasted.

The snippets are taken from the page as a browser shows them (HTML unescaped), saved to a
file with a few lines that call them, and run in a fresh interpreter (`python`, `node`)
against webhooks Coop really sent: a delivery to a local receiver (a real HTTP server), whose
body and `Coop-Signature` header are what the snippets check.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import timedelta
from html import unescape

import pytest
from django.db import transaction
from django.utils import timezone

from coop.accounts.models import SigningKey
from coop.accounts.services import active_signing_key, rotate_signing_key
from coop.core.enums import DeliveryEvent
from coop.enforcement.services import create_delivery
from coop.enforcement.tasks import deliver
from enforcement.receiver import Receiver

pytestmark = pytest.mark.django_db

PAGE = "/settings/signing-key"
PYTHON_RUNNER = """

if __name__ == "__main__":
    import sys

    with open(sys.argv[1], "rb") as f:
        print(is_from_coop(f.read(), sys.argv[2]))
"""
NODE_RUNNER = """
const body = require("node:fs").readFileSync(process.argv[2]);
console.log(isFromCoop(body, process.argv[3]) ? "True" : "False");
"""


def snippet(client, language: str) -> str:
    html = client.get(PAGE).content.decode()
    match = re.search(rf'<pre [^>]*id="snippet-{language}"[^>]*>(.*?)</pre>', html, re.S)
    return unescape(match.group(1))


def send_webhook() -> tuple[bytes, str]:
    """One appeal-decision webhook through Coop's outbox and delivery task to a local
    receiver: (the body as received, its Coop-Signature header)."""
    with Receiver(active_signing_key().public_pem) as receiver:
        with transaction.atomic():
            delivery = create_delivery(
                DeliveryEvent.APPEAL_DECISION,
                f"{receiver.url}/appeals",
                {"X-Source": "coop"},
                {
                    "appealId": "a-1",
                    "appealDecision": "ACCEPT",
                    "item": {"id": "post-é", "typeId": "post"},
                    "appealedBy": {"id": "u-1", "typeId": "user"},
                },
            )
        deliver([str(delivery.pk)])
        receiver.check_calls()
    [request] = receiver.requests
    return request.body, request.headers["coop-signature"]


@pytest.fixture
def run(tmp_path):
    """Run a pasted snippet with its runner: `True` or `False` as the program printed it."""

    def run_snippet(command: list[str], code: str, body: bytes, signature: str) -> str:
        source = tmp_path / f"verify{'.js' if command[0] == 'node' else '.py'}"
        source.write_text(code, encoding="utf-8")
        (tmp_path / "body").write_bytes(body)
        result = subprocess.run(
            [*command, str(source), str(tmp_path / "body"), signature],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    return run_snippet


LANGUAGES = [
    pytest.param("python", [sys.executable], PYTHON_RUNNER, id="python"),
    pytest.param(
        "javascript",
        ["node"],
        NODE_RUNNER,
        id="javascript",
        marks=pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
    ),
]


@pytest.mark.parametrize(("language", "command", "runner"), LANGUAGES)
def test_the_snippet_accepts_coops_webhooks_and_nothing_else(
    admin_client, run, language, command, runner
):
    body, signature = send_webhook()
    code = snippet(admin_client, language) + runner
    assert run(command, code, body, signature) == "True"
    assert run(command, code, body.replace(b"ACCEPT", b"REJECT"), signature) == "False"
    assert run(command, code, body + b" ", signature) == "False"
    forged = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert run(command, code, body, forged) == "False"
    assert run(command, code, body, "not base64 at all!") == "False"


@pytest.mark.parametrize(("language", "command", "runner"), LANGUAGES)
def test_after_a_rotation_the_snippet_accepts_both_keys_until_the_previous_one_expires(
    admin_client, run, language, command, runner
):
    old_body, old_signature = send_webhook()
    before_rotation = snippet(admin_client, language) + runner
    rotate_signing_key()
    new_body, new_signature = send_webhook()
    assert new_signature != old_signature

    code = snippet(admin_client, language) + runner
    assert run(command, code, old_body, old_signature) == "True"  # sent before the rotation
    assert run(command, code, new_body, new_signature) == "True"
    # Code copied before the rotation knows only the old key: the page says to copy it again.
    assert run(command, before_rotation, new_body, new_signature) == "False"

    SigningKey.objects.filter(retired_at__isnull=False).update(
        retired_at=timezone.now() - timedelta(hours=25)
    )
    code = snippet(admin_client, language) + runner
    assert run(command, code, new_body, new_signature) == "True"
    assert run(command, code, old_body, old_signature) == "False"
