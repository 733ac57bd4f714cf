"""A small world for the CyberTip filing tests: item types and items (a user, posts with images,
a conversation), the NCMEC settings, a local platform answering the additional-info and
preservation webhooks, and the fake CyberTip server (coop.testing.fake_cybertip)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.utils import timezone
from PIL import Image

from coop.accounts.services import active_signing_key
from coop.catalog.credentials import encrypt_credential
from coop.catalog.models import ItemType, OrgSettings
from coop.childsafety.drafts import ReportDraft, ReportedMedia, ReportedMessage
from coop.childsafety.models import NcmecReport, NcmecReportStatus
from coop.childsafety.submission import Step, run
from coop.core.enums import FileAnnotation, IncidentType, IndustryClassification
from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission
from enforcement.receiver import verify

USERNAME, PASSWORD = "coop-reporter", "s3cret-pass"
USER = ItemRef("u-1", "user")
POST_1, POST_2 = ItemRef("p-1", "post"), ItemRef("p-2", "post")
THREAD = ItemRef("t-1", "thread")
MESSAGE_1, MESSAGE_2 = ItemRef("m-1", "message"), ItemRef("m-2", "message")


def image(seed: int, size: int = 96) -> bytes:
    """A JPEG with enough structure for a PDQ hash of good quality."""
    picture = Image.new("RGB", (size, size))
    picture.putdata(
        [
            ((x * 7 + seed * 31) % 256, (y * 5 + seed) % 256, (x * y) % 256)
            for y in range(size)
            for x in range(size)
        ]
    )
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    return out.getvalue()


def item_types() -> None:
    ItemType.objects.create(
        id="user",
        name="User",
        kind="USER",
        fields=[
            {"name": "name", "type": "STRING"},
            {"name": "email", "type": "EMAIL_ADDRESS"},
            {"name": "ip", "type": "IP_ADDRESS"},
        ],
        roles={"displayName": "name", "email": "email", "ipAddress": "ip"},
    )
    ItemType.objects.create(
        id="post",
        name="Post",
        kind="CONTENT",
        fields=[
            {"name": "text", "type": "STRING"},
            {"name": "images", "type": "ARRAY", "items": "IMAGE"},
            {"name": "author", "type": "RELATED_ITEM"},
            {"name": "createdAt", "type": "DATETIME"},
            {"name": "ip", "type": "IP_ADDRESS"},
        ],
        roles={"creatorId": "author", "createdAt": "createdAt", "ipAddress": "ip"},
    )
    ItemType.objects.create(id="thread", name="Thread", kind="THREAD", fields=[])
    ItemType.objects.create(
        id="message",
        name="Message",
        kind="CONTENT",
        fields=[
            {"name": "body", "type": "STRING"},
            {"name": "author", "type": "RELATED_ITEM"},
            {"name": "thread", "type": "RELATED_ITEM"},
            {"name": "sentAt", "type": "DATETIME"},
        ],
        roles={"creatorId": "author", "threadId": "thread", "createdAt": "sentAt"},
    )


def submit(ref: ItemRef, data: dict) -> ItemSubmission:
    author = data.get("author")
    return ItemSubmission.objects.create(
        item_id=ref.item_id,
        item_type_id=ref.item_type_id,
        item_type_version=1,
        data=data,
        source="API",
        creator_id=author["id"] if author else None,
        creator_type_id=author["typeId"] if author else None,
        submitted_at=timezone.now(),
    )


def items(media_url: str) -> None:
    """u-1 with two posts (one image each) and a two-message conversation with u-2."""
    item_types()
    submit(USER, {"name": "Sam S.", "email": "sam@example.org", "ip": "198.51.100.7"})
    author = USER.as_wire()
    submit(
        POST_1,
        {
            "text": "first",
            "images": [f"{media_url}/photos/beach%20day.jpg"],
            "author": author,
            "createdAt": "2026-05-01T10:00:00+00:00",
            "ip": "198.51.100.8",
        },
    )
    submit(
        POST_2,
        {
            "text": "second",
            "images": [f"{media_url}/photos/2.jpg"],
            "author": author,
            "createdAt": "2026-05-02T11:30:00+00:00",
        },
    )
    thread = THREAD.as_wire()
    submit(
        MESSAGE_1,
        {
            "body": '=HYPERLINK("http://x")',
            "author": author,
            "thread": thread,
            "sentAt": "2026-05-03T09:00:00+00:00",
        },
    )
    submit(
        MESSAGE_2,
        {
            "body": 'say "hi"',
            "author": {"id": "u-2", "typeId": "user"},
            "thread": thread,
            "sentAt": "2026-05-03T08:00:00+00:00",
        },
    )


def draft(media_url: str, *, media: int = 2, messages: bool = True) -> ReportDraft:
    chosen = [
        ReportedMedia(
            POST_1,
            f"{media_url}/photos/beach%20day.jpg",
            IndustryClassification.A2,
            (FileAnnotation.GENERATIVE_AI, FileAnnotation.VIRAL),
        ),
        ReportedMedia(POST_2, f"{media_url}/photos/2.jpg", IndustryClassification.B1),
    ][:media]
    return ReportDraft(
        user=USER,
        incident_type=IncidentType.CHILD_PORNOGRAPHY,
        media=tuple(chosen),
        messages=(
            (ReportedMessage(THREAD, MESSAGE_1), ReportedMessage(THREAD, MESSAGE_2))
            if messages
            else ()
        ),
        escalate_reason="Ongoing abuse",
        additional_info="Reported by a parent.",
    )


def ncmec_settings(**overrides: Any) -> None:
    """The `ncmec` block as the settings page stores it (config.md key names)."""
    block = {
        "companyReportName": "Example Inc.",
        "legalUrl": "https://example.com/legal",
        "contactEmail": "safety@example.com",
        "username": USERNAME,
        "password": encrypt_credential(PASSWORD),
        "moreInfoUrl": "https://example.com/about",
        "termsOfService": "Be kind.",
        "contactPerson": {
            "firstName": "Lee",
            "lastName": "Officer",
            "email": "lee@example.com",
            "phone": "+1 555 0100",
        },
        "defaultInternetDetailType": "WEB_PAGE",
        "additionalInfoEndpoint": None,
        "preservationEndpoint": None,
    }
    block.update(overrides)
    stored = OrgSettings.load()
    stored.data = {**stored.data, "ncmec": block}
    stored.save()


def drive(report: NcmecReport, rounds: int = 30) -> NcmecReport:
    """Run the report's task as the worker would, retries included (tests set the retry
    waits to 0), until it stops."""
    for _ in range(rounds):
        run(str(report.pk))
        report.refresh_from_db()
        busy = report.status in (NcmecReportStatus.QUEUED, NcmecReportStatus.RUNNING)
        if not busy and report.step != Step.PRESERVATION:
            return report
    raise AssertionError(f"the report did not settle: {report.status} at {report.step}")


# --- the platform ----------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, bytes]


def good_answer(request: dict) -> dict:
    """What a platform that knows everything answers to an additional-info request."""
    return {
        "users": [
            {
                **user,
                "screenName": "sam_2009",
                "email": [
                    {
                        "email": "sam.private@example.net",
                        "type": "Home",
                        "verified": True,
                        "verificationDate": "2024-02-01T00:00:00Z",
                    }
                ],
                "ipCaptureEvent": [
                    {
                        "ipAddress": "203.0.113.9",
                        "eventName": "Login",
                        "dateTime": "2026-05-01T09:59:00Z",
                        "possibleProxy": False,
                        "port": 443,
                    }
                ],
                "data": {"ignored": True},
            }
            for user in request["users"]
        ],
        "media": [
            {
                **m,
                "fileName": f"original-{i}.jpg",
                "publiclyAvailable": False,
                "additionalInfo": ["Posted in a private album"],
                "ipCaptureEvent": [
                    {"ipAddress": "203.0.113.10", "eventName": "Upload"},
                    {"ipAddress": "203.0.113.11", "eventName": "Upload", "port": 8080},
                ],
                "unknownKey": "ignored",
            }
            for i, m in enumerate(request["media"])
        ],
        "messages": [
            {**m, "ipAddress": {"ip": "192.0.2.44", "port": 5000}}
            for m in request.get("messages", [])
        ],
        "additionalInfo": "The account was created in 2024.",
    }


class Platform:
    """The platform's two NCMEC endpoints on 127.0.0.1; every request's signature is checked
    with the public key only. `answers[path]` scripts replies (popped in order; a callable gets
    the request), otherwise additional-info answers `good_answer` and preservation 200."""

    ADDITIONAL_INFO = "/ncmec/additional-info"
    PRESERVE = "/ncmec/preserve"

    def __init__(self):
        self.requests: list[Request] = []
        self.answers: dict[str, list[Reply | Callable[[Request], Reply]]] = {}
        self.public_pem = active_signing_key().public_pem
        self.bad_signatures = 0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request(self.path, headers, body)
                if not verify(platform.public_pem, body, headers.get("coop-signature", "")):
                    platform.bad_signatures += 1
                platform.requests.append(request)
                scripted = platform.answers.get(self.path) or []
                reply = scripted.pop(0) if scripted else platform.default(request)
                status, payload = reply(request) if callable(reply) else reply
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def default(self, request: Request) -> Reply:
        if request.path == self.ADDITIONAL_INFO:
            return 200, json.dumps(good_answer(request.json())).encode()
        return 200, b'{"ok":true}'

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> Platform:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        assert self.bad_signatures == 0, "a webhook had a bad Coop-Signature"
