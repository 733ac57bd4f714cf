"""Fixtures of the enforcement tests: a small catalog and a local webhook receiver."""

from __future__ import annotations

import inspect

import pytest

from coop.accounts.services import active_signing_key
from coop.catalog.models import Action, ItemType, Policy
from coop.config.services import save_object
from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission
from enforcement.receiver import Receiver

SECRET_ENV = "SECRET_TEST_WEBHOOK_TOKEN"


@pytest.fixture
def receiver(db, request):
    """A test that asks for the receiver itself must reach it (or say `expect_no_calls()`);
    through `catalog` it is only the actions' callback address."""
    with Receiver(active_signing_key().public_pem) as server:
        yield server
    if "receiver" in inspect.signature(request.node.function).parameters:
        server.check_calls()
    assert all(r.signature_valid for r in server.requests), "a request had a bad signature"


@pytest.fixture
def catalog(db, receiver, monkeypatch):
    """Item types `post` (author role) and `user`; policies with strike weights; actions
    `delete` (content, strikes, parameters, secret header) and `ban` (users)."""
    monkeypatch.setenv(SECRET_ENV, "s3cret-token")
    ItemType.objects.create(
        id="post",
        name="Post",
        kind="CONTENT",
        fields=[
            {"name": "text", "type": "STRING", "required": True},
            {"name": "author", "type": "RELATED_ITEM"},
        ],
        roles={"creatorId": "author"},
    )
    ItemType.objects.create(
        id="user", name="User", kind="USER", fields=[{"name": "name", "type": "STRING"}]
    )
    spam = Policy.objects.create(id="spam", name="Spam", penalty="MEDIUM")
    scams = Policy.objects.create(id="scams", name="Scams", parent=spam, strikes=3)
    Policy.objects.create(id="phishing", name="Phishing", parent=scams)
    Policy.objects.create(id="ads", name="Ads", parent=spam)
    Policy.objects.create(id="satire", name="Satire", strikes=0)
    Action.objects.create(
        id="delete",
        name="Delete",
        callback_url=f"{receiver.url}/delete",
        headers={"Authorization": {"secret": SECRET_ENV}, "X-Static": "yes"},
        body={"origin": "coop", "days": 1},
        item_types=["post"],
        applies_strikes=True,
        parameters=[
            {"name": "days", "type": "NUMBER", "required": False, "default": 7},
            {"name": "notify", "type": "BOOLEAN", "required": False},
            {"name": "label", "type": "STRING", "required": False},
        ],
    )
    Action.objects.create(
        id="ban",
        name="Ban",
        callback_url=f"{receiver.url}/ban",
        item_types=["user"],
        applies_strikes=False,
        parameters=[{"name": "days", "type": "NUMBER", "required": True}],
    )
    return receiver


def submit(item_id: str, author: str | None = "u-1", type_id: str = "post") -> ItemSubmission:
    data = {"text": "hello"}
    if author:
        data["author"] = {"id": author, "typeId": "user"}
    return ItemSubmission.objects.create(
        item_id=item_id,
        item_type_id=type_id,
        item_type_version=1,
        data=data,
        source="API",
        creator_id=author,
        creator_type_id="user" if author else None,
    )


def set_strikes(ttl_days: int = 90, thresholds: list | None = None) -> None:
    result = save_object(
        "settings", {"strikes": {"ttlDays": ttl_days, "thresholds": thresholds or []}}
    )
    assert result.ok, result.errors


POST = ItemRef("p-1", "post")
USER = ItemRef("u-1", "user")
