"""A local platform receiving Coop's webhooks: a real HTTP server on 127.0.0.1 in a thread.

It records every request and verifies each `Coop-Signature` with only the public PEM and the
cryptography package, as a platform would. Replies are scripted per request.
"""

from __future__ import annotations

import base64
import contextlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok":true}'
    delay: float = 0.0  # seconds before answering (timeouts)
    close: bool = False  # drop the connection without answering
    hold: threading.Event | None = None  # wait for this before answering


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool


def verify(public_pem: str, body: bytes, signature: str) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    try:
        key.verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


class Receiver:
    def __init__(self, public_pem: str):
        self.public_pem = public_pem
        self.requests: list[Received] = []
        self.script: list[Reply] = []
        self.arrived = threading.Event()
        self.calls_expected = True
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                valid = verify(receiver.public_pem, body, headers.get("coop-signature", ""))
                receiver.requests.append(Received(self.path, headers, body, valid))
                reply = receiver.script.pop(0) if receiver.script else Reply()
                receiver.arrived.set()
                if reply.hold is not None:
                    reply.hold.wait(30)
                if reply.delay:
                    threading.Event().wait(reply.delay)
                if reply.close:
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(reply.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def expect_no_calls(self) -> None:
        """Declare that this test must not reach the platform (the fixture then checks that);
        otherwise a receiver that was never called fails the test."""
        self.calls_expected = False

    def check_calls(self) -> None:
        if self.calls_expected:
            assert self.requests, "the receiver was never called"
        else:
            assert not self.requests, f"the receiver was called: {self.requests[0].path}"
        assert all(r.signature_valid for r in self.requests), "a request had a bad signature"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
