"""The console's "Send test delivery" for an action: one signed request to its callback URL,
sent at once and shown in full, so an administrator can check the platform's endpoint (address,
headers, signature verification) before a real action depends on it.

It is built and sent like a real action callback (the same body serialisation, signature,
headers and SSRF-guarded client of coop.enforcement.delivery) except that it carries
`Coop-Event: test`, is not stored in the outbox and is never retried.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from coop.catalog.models import Action, ItemType
from coop.enforcement.delivery import (
    UnsendableHeaderError,
    outgoing_headers,
    post,
)
from coop.enforcement.services import encode_body
from coop.enforcement.signer import sign

TEST_EVENT = "test"
TEST_ITEM_ID = "coop-test-delivery"


@dataclass(frozen=True)
class ProbeResult:
    """What was sent (secret header values masked) and what came back, or why nothing did."""

    url: str
    request_headers: list[tuple[str, str]]
    body: str
    status_code: int | None
    response_headers: list[tuple[str, str]]
    response_excerpt: str
    error: str
    duration_ms: int
    sent: bool  # False when the request could not be made at all (e.g. a missing secret)

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def probe_payload(action: Action, actor_email: str) -> dict[str, Any]:
    """An action callback body (api.md) about a made-up item of one of the action's types."""
    item_type = ItemType.objects.filter(pk__in=action.item_types).order_by("pk").first()
    if item_type is None:
        item_type = ItemType.objects.order_by("pk").first()
    defaults = {p["name"]: p["default"] for p in action.parameters if "default" in p}
    return {
        "action": {"id": action.id},
        "actorEmail": actor_email,
        "custom": {**action.body, **defaults},
        "item": {
            "id": TEST_ITEM_ID,
            "typeId": item_type.id if item_type else "example",
            "typeName": item_type.name if item_type else "Example",
        },
        "policies": [],
        "rules": [],
    }


def masked(configured: dict[str, Any], headers: dict[str, str]) -> list[tuple[str, str]]:
    """The headers as shown in the console: secrets masked, with where they come from."""
    shown = []
    for name, value in headers.items():
        reference = configured.get(name)
        if isinstance(reference, dict):
            where = reference.get("secret")
            value = (
                f"•••••• (secret from {where})" if where else "•••••• (secret, stored encrypted)"
            )
        shown.append((name, value))
    return shown


def send_probe(action: Action, actor_email: str) -> ProbeResult:
    body = encode_body(probe_payload(action, actor_email))
    text = body.decode("utf-8")
    try:
        headers = outgoing_headers(
            action.headers,
            signature=sign(body),
            delivery_id=str(uuid.uuid4()),
            event=TEST_EVENT,
        )
    except UnsendableHeaderError as exc:
        return ProbeResult(action.callback_url, [], text, None, [], "", str(exc), 0, False)
    clock = time.monotonic()
    outcome = post(action.callback_url, body, headers)
    return ProbeResult(
        url=action.callback_url,
        request_headers=masked(action.headers, headers),
        body=text,
        status_code=outcome.status_code,
        response_headers=list(outcome.headers),
        response_excerpt=outcome.excerpt,
        error=outcome.error,
        duration_ms=round((time.monotonic() - clock) * 1000),
        sent=True,
    )
