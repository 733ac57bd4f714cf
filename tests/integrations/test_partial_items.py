"""Partial items: Coop asks the platform for item data (api.md), against a local platform."""

from __future__ import annotations

import pytest

from coop.config.services import save_object
from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission, SubmissionSource
from coop.ingest.store import latest_for
from coop.integrations.partial_items import fetch_items
from integrations.conftest import configure
from integrations.fakes import Reply

POST = ItemRef("p1", "post")
OTHER = ItemRef("p2", "post")
USER = ItemRef("u1", "user")


@pytest.fixture
def platform(partial_items):
    configure("")
    settings = {
        "partialItems": {
            "endpoint": f"{partial_items.url}/items",
            "headers": {"Authorization": {"secret": "SECRET_PLATFORM_TOKEN"}},
        }
    }
    assert save_object("settings", settings).ok
    return partial_items


def test_items_come_back_validated_leniently_and_are_stored(db, platform):
    platform.items = {
        ("post", "p1"): {
            "text": "hello",
            "author": {"id": "u1", "typeId": "user"},
            "photo": {"url": "https://cdn.example/a.png"},  # coerced, as the API does
            "extra": 1,
        },
        ("user", "u1"): {"name": "Ada"},
    }
    platform.extra = [
        {"id": "p9", "typeId": "post", "data": {"text": "not asked for"}},
        "junk",
        {"id": "p1", "typeId": "post", "data": {"text": "a second answer"}},
    ]
    result = fetch_items([POST, USER, OTHER, POST])
    assert platform.asked() == [
        [
            {"id": "p1", "typeId": "post"},
            {"id": "u1", "typeId": "user"},
            {"id": "p2", "typeId": "post"},
        ]
    ]
    assert result.error is None
    assert result.data(POST) == {
        "text": "hello",
        "author": {"id": "u1", "typeId": "user"},
        "photo": "https://cdn.example/a.png",
        "extra": 1,
    }
    assert result.data(USER) == {"name": "Ada"}
    assert result.errors == {OTHER: "the platform did not return this item"}
    stored = latest_for(POST)
    assert stored.source == SubmissionSource.PARTIAL_ITEMS
    assert stored.pk == result.items[POST].submission_id
    assert stored.creator_id == "u1"
    assert stored.evaluated_at is None  # evidence: no rules run on it
    assert not ItemSubmission.objects.filter(item_id="p9").exists()


def test_invalid_or_unstorable_data_is_an_error_for_that_item_only(db, platform, settings):
    settings.COOP_MAX_JSON_DEPTH = 4
    platform.items = {
        ("post", "p1"): {"text": {"not": "a string"}},
        ("post", "p2"): {"title": "nul \x00 byte"},
        ("user", "u1"): {"name": "deep", "x": [[[["too deep"]]]]},
        ("post", "p3"): {"text": "fine"},
    }
    result = fetch_items([POST, OTHER, USER, ItemRef("p3", "post")], store=False)
    assert result.errors[POST].startswith("invalid data at /data/text: `text`")
    assert result.errors[OTHER] == "its data holds a NUL character or an unpaired surrogate"
    assert result.errors[USER] == "its data nests deeper than 4 levels (COOP_MAX_JSON_DEPTH)"
    assert result.data(ItemRef("p3", "post")) == {"text": "fine"}
    assert not ItemSubmission.objects.exists()


def test_failures_of_the_call_are_reported_for_every_item(db, platform):
    platform.script = [Reply(503), Reply(200, body={"items": [{"id": "p1", "typeId": "post"}]})]
    # Retried after the 503; an entry without data is that item's error.
    assert fetch_items([POST]).errors == {POST: "its data is not an object"}
    platform.script = [Reply(200, body=b"<html>")]
    assert "sent an answer Coop cannot read: not JSON" in fetch_items([USER]).error
    platform.script = [Reply(401, body={"error": "who are you"})]
    refused = fetch_items([POST, OTHER])
    assert refused.error == (
        "The partial-items endpoint refused the credentials (HTTP 401): check its API key or "
        "headers"
    )
    assert refused.errors == {POST: refused.error, OTHER: refused.error}
    # Refused credentials are not tried again at once (until the settings change).
    sent = len(platform.requests)
    assert fetch_items([POST]).error == refused.error
    assert len(platform.requests) == sent


def test_without_an_endpoint_or_for_unknown_types_nothing_is_sent(db, partial_items):
    partial_items.expect_no_calls()
    configure("")
    result = fetch_items([POST])
    assert result.error == (
        "no partial-items endpoint is configured (settings.partialItems.endpoint)"
    )
    assert result.errors == {POST: result.error}
    assert save_object("settings", {"partialItems": {"endpoint": f"{partial_items.url}/items"}}).ok
    unknown = fetch_items([ItemRef("x", "nope")])
    assert unknown.errors == {ItemRef("x", "nope"): "unknown item type 'nope'"}
    assert fetch_items([]).items == {}
