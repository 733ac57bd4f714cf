"""The demo's fake platform: receives Coop's webhooks, verifies them, shows them on a page.

A plain `http.server` (no Django): `python -m coop.demo.platform --port 8001`, with the
verification keys (public PEMs, a JSON list) in the environment variable
COOP_DEMO_PUBLIC_PEMS. Every POST, to any path, is recorded and answered 200. `GET /` shows the
received webhooks, newest first, and refreshes itself; `GET /webhooks.json` lists them as JSON;
`GET /media/NAME` serves the demo's harmless images, which the sample posts link to.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import html
import json
import os
import signal
import sys
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PEMS_ENV = "COOP_DEMO_PUBLIC_PEMS"
KEEP = 500  # webhooks kept in memory (the oldest are forgotten)
MAX_BODY = 10 * 1024 * 1024
REFRESH_SECONDS = 3


def load_keys(pems: list[str]) -> list[rsa.RSAPublicKey]:
    keys = []
    for pem in pems:
        key = serialization.load_pem_public_key(pem.encode())
        assert isinstance(key, rsa.RSAPublicKey)
        keys.append(key)
    return keys


def verify(keys: list[rsa.RSAPublicKey], body: bytes, signature: str) -> bool:
    """True if `signature` (base64 RSASSA-PKCS1-v1_5 SHA-256) signs `body` under any key."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    for key in keys:
        try:
            key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return True
    return False


@dataclass(frozen=True)
class Webhook:
    received_at: str  # ISO 8601, UTC
    path: str
    event: str
    delivery_id: str
    signature_valid: bool
    body: str  # pretty-printed JSON when it parses, else the raw text


class WebhookLog:
    def __init__(self, keep: int = KEEP) -> None:
        self._entries: collections.deque[Webhook] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()
        self.total = 0

    def add(self, webhook: Webhook) -> None:
        with self._lock:
            self._entries.append(webhook)
            self.total += 1

    def newest_first(self) -> list[Webhook]:
        with self._lock:
            return list(reversed(self._entries))


def pretty(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return text


PAGE_STYLE = """
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1d232b}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.4rem .6rem;text-align:left;vertical-align:top}
pre{margin:0;max-height:20rem;overflow:auto;background:#f6f7f9;padding:.5rem;font-size:12px}
.ok{color:#127a2e;font-weight:bold}.bad{color:#b3261e;font-weight:bold}
code{font-size:12px}
"""


def render_page(log: WebhookLog) -> str:
    rows = []
    for hook in log.newest_first():
        mark = (
            '<span class="ok" title="signature valid">&#10003;</span>'
            if hook.signature_valid
            else '<span class="bad" title="signature INVALID">&#10007;</span>'
        )
        rows.append(
            "<tr>"
            f"<td>{html.escape(hook.received_at)}</td>"
            f"<td>{html.escape(hook.event)}<br><code>{html.escape(hook.path)}</code></td>"
            f"<td><code>{html.escape(hook.delivery_id)}</code></td>"
            f"<td>{mark}</td>"
            f"<td><pre>{html.escape(hook.body)}</pre></td>"
            "</tr>"
        )
    head = (
        "<table><thead><tr><th>Received (UTC)</th><th>Event</th><th>Delivery id</th>"
        "<th>Signature</th><th>Body</th></tr></thead><tbody>"
    )
    table = (
        head + "".join(rows) + "</tbody></table>"
        if rows
        else "<p>No webhooks yet. Take an action in the console, or wait for a rule to fire.</p>"
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
        "<title>Demo platform: webhooks from Coop</title>"
        f"<style>{PAGE_STYLE}</style></head><body>"
        "<h1>Demo platform</h1>"
        f"<p>Webhooks received from Coop: {log.total} (newest first; signatures verified with "
        "Coop's public key; this page refreshes itself).</p>"
        f"{table}</body></html>"
    )


MEDIA_PREFIX = "/media/"
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg"}


@cache
def demo_media() -> dict[str, bytes]:
    """The demo's harmless images (coop/demo/media), by file name, as the platform's media."""
    folder = resources.files("coop.demo").joinpath("media")
    return {
        entry.name: entry.read_bytes()
        for entry in folder.iterdir()
        if entry.name.rsplit(".", 1)[-1] in MEDIA_TYPES
    }


def make_server(host: str, port: int, pems: list[str]) -> ThreadingHTTPServer:
    """A server (not yet serving) with its `WebhookLog` as `server.log`."""
    keys = load_keys(pems)
    log = WebhookLog()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "CoopDemoPlatform/1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, "application/json", b'{"ok":false}')
                return
            body = self.rfile.read(length)
            log.add(
                Webhook(
                    received_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    path=self.path,
                    event=self.headers.get("Coop-Event", ""),
                    delivery_id=self.headers.get("Coop-Delivery-Id", ""),
                    signature_valid=verify(keys, body, self.headers.get("Coop-Signature", "")),
                    body=pretty(body),
                )
            )
            self._send(200, "application/json", b'{"ok":true}')

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/":
                page = render_page(log).encode()
                self._send(200, "text/html; charset=utf-8", page)
            elif path == "/webhooks.json":
                data = [asdict(hook) for hook in log.newest_first()]
                self._send(200, "application/json", json.dumps(data).encode())
            elif path.startswith(MEDIA_PREFIX) and path[len(MEDIA_PREFIX) :] in demo_media():
                name = path[len(MEDIA_PREFIX) :]
                self._send(200, MEDIA_TYPES[name.rsplit(".", 1)[1]], demo_media()[name])
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:
            pass  # quiet: the page is the log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.log = log  # type: ignore[attr-defined]
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    pems = json.loads(os.environ.get(PEMS_ENV) or "[]")
    server = make_server(args.host, args.port, pems)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="demo-platform", daemon=True)
    thread.start()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
