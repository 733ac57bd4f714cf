"""The demo's fake platform: signature verification and the page, over real HTTP."""

from __future__ import annotations

import base64
import json
import threading

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from coop.demo import platform


@pytest.fixture(scope="module")
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def server(private_key):
    pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    server = platform.make_server("127.0.0.1", 0, [pem])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _sign(private_key, body: bytes) -> str:
    return base64.b64encode(private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def _post(server, body: bytes, signature: str, delivery: str) -> httpx.Response:
    return httpx.post(
        f"{_url(server)}/actions/delete",
        content=body,
        headers={
            "Content-Type": "application/json",
            "Coop-Signature": signature,
            "Coop-Delivery-Id": delivery,
            "Coop-Event": "action.executed",
        },
    )


def test_signed_webhook_is_valid_and_tampered_one_is_not(server, private_key):
    body = json.dumps({"item": {"id": "post-1", "typeId": "post"}}).encode()
    assert _post(server, body, _sign(private_key, body), "d-good").status_code == 200
    tampered = body.replace(b"post-1", b"post-2")
    assert _post(server, tampered, _sign(private_key, body), "d-bad").status_code == 200
    assert _post(server, body, "not base64!", "d-garbage").status_code == 200

    hooks = httpx.get(f"{_url(server)}/webhooks.json").json()
    assert [(h["delivery_id"], h["signature_valid"]) for h in hooks] == [
        ("d-garbage", False),
        ("d-bad", False),
        ("d-good", True),
    ]
    assert hooks[2]["event"] == "action.executed"
    assert hooks[2]["path"] == "/actions/delete"

    page = httpx.get(f"{_url(server)}/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<meta http-equiv="refresh"' in page.text
    # newest first, one valid mark and two invalid ones
    assert page.text.index("d-garbage") < page.text.index("d-bad") < page.text.index("d-good")
    assert page.text.count("&#10003;</span>") == 1
    assert page.text.count("&#10007;</span>") == 2
    assert "Webhooks received from Coop: 3" in page.text


def test_bodies_are_pretty_printed_and_escaped(server, private_key):
    body = json.dumps({"item": {"data": {"text": "<script>alert(1)</script> & more"}}}).encode()
    _post(server, body, _sign(private_key, body), "<b>id</b>")
    page = httpx.get(f"{_url(server)}/").text
    assert "<script>" not in page
    assert "<b>id</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "&lt;b&gt;id&lt;/b&gt;" in page
    assert "\n  &quot;item&quot;: {" in page  # indented JSON


def test_verify_accepts_any_published_key(private_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pems = [
        k.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        for k in (other, private_key)
    ]
    keys = platform.load_keys(pems)
    body = b'{"a":1}'
    assert platform.verify(keys, body, _sign(private_key, body))
    assert not platform.verify(keys[:1], body, _sign(private_key, body))
    assert not platform.verify(keys, body, "")
