"""Local stand-ins for the integrations Coop calls: real HTTP servers on 127.0.0.1 in threads.

Each fake checks every request exactly as its provider documents it (method, path, the
credential where the provider wants it, the JSON body's shape, the model name) and answers as
the provider does: a wrong key gets 401 (403 at Google), an unknown labeler version 404, a good
request the provider's answer format. Anything a real provider would refuse as malformed is a
*problem*: the fake answers 400 and the test's fixture fails on it. Replies can be scripted
(errors, slowness, malformed bodies), concurrent requests are counted, and a fake that is
never called fails the test unless the test says it expects no calls.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

OPENAI_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
# omni-moderation-latest scores these for images too; the others for text only.
OPENAI_IMAGE_CATEGORIES = frozenset(
    {
        "self-harm",
        "self-harm/instructions",
        "self-harm/intent",
        "sexual",
        "violence",
        "violence/graphic",
    }
)
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"BM", b"II*\x00")
PRIORITIES = ("VERY_LOW", "LOW", "MEDIUM", "HIGH", "VERY_HIGH")


@dataclass
class Reply:
    """A scripted answer: used instead of the fake's own, in order, one per request."""

    status: int = 200
    body: Any = None  # bytes as they are, anything else as JSON; None: the fake's own answer
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Problem(Exception):
    """The request is not what the provider documents."""


class FakeServer:
    """The common part: a threaded server recording requests and answering them."""

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.problems: list[str] = []
        self.script: list[Reply] = []
        self.active = 0
        self.max_active = 0
        self.hold: threading.Event | None = None  # answer only once it is set
        self.calls_expected = True
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def expect_no_calls(self) -> None:
        self.calls_expected = False

    def check(self) -> None:
        """At teardown: every request was well-formed, and the fake was called if expected."""
        assert not self.problems, f"{self.name} got malformed requests: {self.problems}"
        if self.calls_expected:
            assert self.requests, f"{self.name} was never called"
        else:
            assert not self.requests, f"{self.name} was called: {self.requests[0].path}"

    # -- the request -------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        seen = Seen(
            handler.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        with self.lock:
            self.requests.append(seen)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            reply = self.script.pop(0) if self.script else None
        try:
            if self.hold is not None:
                self.hold.wait(30)
            try:
                answer = self.answer(seen)
            except Problem as exc:
                with self.lock:
                    self.problems.append(f"{seen.method} {seen.path}: {exc}")
                answer = Reply(400, {"error": str(exc)})
            else:
                if reply is not None:  # checked like any request, answered as scripted
                    own = answer.body
                    answer = Reply(
                        reply.status,
                        own if reply.body is None else reply.body,
                        reply.headers,
                        reply.delay,
                    )
            if answer.delay:
                time.sleep(answer.delay)
            self._send(handler, answer)
        finally:
            with self.lock:
                self.active -= 1

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        with contextlib.suppress(OSError):
            handler.send_response(reply.status)
            for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

    def answer(self, seen: Seen) -> Reply:
        raise NotImplementedError

    # -- checks shared by the fakes ----------------------------------------------------------

    @staticmethod
    def expect(condition: bool, message: str) -> None:
        if not condition:
            raise Problem(message)

    def json_body(self, seen: Seen, keys: set[str]) -> dict[str, Any]:
        self.expect(seen.method == "POST", f"method {seen.method}, not POST")
        content_type = seen.headers.get("content-type", "")
        self.expect(content_type.startswith("application/json"), f"Content-Type {content_type}")
        try:
            data = seen.json()
        except ValueError as exc:
            raise Problem(f"the body is not JSON: {exc}") from None
        self.expect(isinstance(data, dict), "the body is not a JSON object")
        self.expect(set(data) == keys, f"body keys {sorted(data)}, not {sorted(keys)}")
        return data


# --- OpenAI ----------------------------------------------------------------------------------


class FakeOpenAI(FakeServer):
    """`POST /v1/moderations` (omni-moderation-latest, array input of one typed part)."""

    name = "the OpenAI fake"

    def __init__(self, key: str = "sk-test") -> None:
        super().__init__()
        self.key = key
        # Substring of the text (or the image URL) -> category scores it gets.
        self.scores: dict[str, dict[str, float]] = {}

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def inputs(self) -> list[dict[str, Any]]:
        return [seen.json()["input"][0] for seen in self.requests]

    def answer(self, seen: Seen) -> Reply:
        self.expect(seen.path == "/v1/moderations", f"path {seen.path}")
        if seen.headers.get("authorization") != f"Bearer {self.key}":
            return Reply(401, {"error": {"message": "Incorrect API key provided"}})
        data = self.json_body(seen, {"model", "input"})
        self.expect(data["model"] == "omni-moderation-latest", f"model {data['model']!r}")
        parts = data["input"]
        self.expect(isinstance(parts, list) and len(parts) == 1, "input is not one part")
        part = parts[0]
        if part.get("type") == "text":
            self.expect(set(part) == {"type", "text"}, f"text part keys {sorted(part)}")
            self.expect(isinstance(part["text"], str), "text is not a string")
            subject, image = part["text"], False
        else:
            self.expect(part.get("type") == "image_url", f"part type {part.get('type')!r}")
            self.expect(set(part) == {"type", "image_url"}, f"image part keys {sorted(part)}")
            url = part["image_url"]
            self.expect(isinstance(url, dict) and set(url) == {"url"}, "image_url must be {url}")
            subject, image = url["url"], True
        scores = dict.fromkeys(OPENAI_CATEGORIES, 0.01)
        for fragment, given in self.scores.items():
            if fragment in subject:
                scores.update(given)
        if image:
            scores = {k: (v if k in OPENAI_IMAGE_CATEGORIES else 0.0) for k, v in scores.items()}
        result = {
            "flagged": any(v > 0.5 for v in scores.values()),
            "categories": {k: v > 0.5 for k, v in scores.items()},
            "category_scores": scores,
            "category_applied_input_types": {
                k: (
                    ["image"]
                    if image and k in OPENAI_IMAGE_CATEGORIES
                    else []
                    if image
                    else ["text"]
                )
                for k in scores
            },
        }
        body = {"id": f"modr-{uuid.uuid4().hex[:8]}", "model": data["model"], "results": [result]}
        return Reply(200, body)


# --- Google Content Safety -------------------------------------------------------------------


class FakeGoogle(FakeServer):
    """`POST /v1beta1/images:classify?key=…` with `{"images": [<base64>]}`."""

    name = "the Google Content Safety fake"

    def __init__(self, key: str = "g-test") -> None:
        super().__init__()
        self.key = key
        self.priority = "LOW"
        self.priorities: dict[bytes, str] = {}  # image bytes -> priority
        self.images: list[bytes] = []

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1beta1"

    def answer(self, seen: Seen) -> Reply:
        self.expect(seen.path == "/v1beta1/images:classify", f"path {seen.path}")
        self.expect("authorization" not in seen.headers, "the key goes in the query string")
        if seen.query.get("key") != [self.key]:
            return Reply(403, {"error": {"code": 403, "status": "PERMISSION_DENIED"}})
        data = self.json_body(seen, {"images"})
        images = data["images"]
        self.expect(isinstance(images, list) and len(images) == 1, "not exactly one image")
        try:
            content = base64.b64decode(images[0], validate=True)
        except (ValueError, TypeError):
            raise Problem("the image is not base64") from None
        self.expect(content.startswith(IMAGE_MAGIC), "the base64 is not an image")
        with self.lock:
            self.images.append(content)
        priority = self.priorities.get(content, self.priority)
        return Reply(200, {"reviewPriorities": [priority], "modelVersion": "fake-1"})


# --- Zentropi --------------------------------------------------------------------------------


class FakeZentropi(FakeServer):
    """`POST /v1/label` with `{"content_text", "labeler_version_id"}`."""

    name = "the Zentropi fake"

    def __init__(self, key: str = "z-test") -> None:
        super().__init__()
        self.key = key
        # labeler version -> text -> (label, confidence); unknown versions are 404.
        self.labelers: dict[str, Callable[[str], tuple[Any, float]]] = {}

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def answer(self, seen: Seen) -> Reply:
        self.expect(seen.path == "/v1/label", f"path {seen.path}")
        if seen.headers.get("authorization") != f"Bearer {self.key}":
            return Reply(401, {"detail": "Invalid API key"})
        data = self.json_body(seen, {"content_text", "labeler_version_id"})
        self.expect(isinstance(data["content_text"], str), "content_text is not a string")
        labeler = self.labelers.get(data["labeler_version_id"])
        if labeler is None:
            return Reply(404, {"detail": "Labeler version not found"})
        label, confidence = labeler(data["content_text"])
        return Reply(200, {"label": label, "confidence": confidence, "explanation": "fake"})


# --- webhook-style endpoints (signed by Coop) ------------------------------------------------


def verify(public_pem: str, body: bytes, signature: str) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    try:
        key.verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


class SignedEndpoint(FakeServer):
    """Checks what every request Coop signs carries (api.md, common rules)."""

    event = ""
    path = ""

    def __init__(self, public_pem: str, headers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.public_pem = public_pem
        self.headers = headers or {}

    def signed_body(self, seen: Seen, keys: set[str]) -> dict[str, Any]:
        self.expect(seen.path == self.path, f"path {seen.path}")
        data = self.json_body(seen, keys)
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self.expect(canonical.encode() == seen.body, "the body is not sorted, compact JSON")
        signature = seen.headers.get("coop-signature", "")
        self.expect(verify(self.public_pem, seen.body, signature), "bad Coop-Signature")
        self.expect(seen.headers.get("coop-event") == self.event, "wrong Coop-Event")
        try:
            uuid.UUID(seen.headers.get("coop-delivery-id", ""))
        except ValueError:
            raise Problem("Coop-Delivery-Id is not a UUID") from None
        for name, value in self.headers.items():
            self.expect(seen.headers.get(name.lower()) == value, f"header {name} missing")
        return data


class FakeHttpSignal(SignedEndpoint):
    """A deployer's model: `POST /score` with `{"input", "item": {"data", "id", "typeId"}}`."""

    name = "the HTTP signal endpoint"
    event = "signal"
    path = "/score"

    def __init__(self, public_pem: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(public_pem, headers)
        self.score: Callable[[dict[str, Any]], Any] = lambda body: 0.5

    def answer(self, seen: Seen) -> Reply:
        data = self.signed_body(seen, {"input", "item"})
        item = data["item"]
        self.expect(isinstance(item, dict) and set(item) == {"id", "typeId", "data"}, "item")
        return Reply(200, {"score": self.score(data), "model": "fake"})


class FakePartialItems(SignedEndpoint):
    """The platform's partial-items endpoint: `POST /items` with `{"items": [{id, typeId}]}`."""

    name = "the partial-items endpoint"
    event = "partial-items"
    path = "/items"

    def __init__(self, public_pem: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(public_pem, headers)
        self.items: dict[tuple[str, str], dict[str, Any]] = {}  # (typeId, id) -> data
        self.extra: list[Any] = []  # more entries in every answer (items not asked for…)

    def asked(self) -> list[list[dict[str, str]]]:
        return [seen.json()["items"] for seen in self.requests]

    def answer(self, seen: Seen) -> Reply:
        data = self.signed_body(seen, {"items"})
        asked = data["items"]
        self.expect(isinstance(asked, list) and asked, "items is not a non-empty list")
        for ref in asked:
            self.expect(isinstance(ref, dict) and set(ref) == {"id", "typeId"}, f"ref {ref}")
        found = [
            {
                "id": ref["id"],
                "typeId": ref["typeId"],
                "data": self.items[(ref["typeId"], ref["id"])],
            }
            for ref in asked
            if (ref["typeId"], ref["id"]) in self.items
        ]
        return Reply(200, {"items": found + self.extra})
