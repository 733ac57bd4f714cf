"""Shared fixtures of the platform API tests: item types and an authenticated JSON client."""

from __future__ import annotations

import pytest

from api.helpers import ApiClient
from coop.catalog.models import ItemType

POST_FIELDS = [
    {"name": "text", "type": "STRING", "required": True},
    {"name": "images", "type": "ARRAY", "items": "IMAGE"},
    {"name": "author", "type": "RELATED_ITEM"},
    {"name": "score", "type": "NUMBER"},
    {"name": "pinned", "type": "BOOLEAN"},
    {"name": "ip", "type": "IP_ADDRESS"},
    {"name": "createdAt", "type": "DATETIME"},
    {"name": "thread", "type": "RELATED_ITEM"},
    {"name": "labels", "type": "MAP", "values": "STRING"},
]


@pytest.fixture
def item_types(db) -> dict[str, ItemType]:
    """A `post` content type (with roles), a `user` type and a `message` type."""
    return {
        "post": ItemType.objects.create(
            id="post",
            name="Post",
            kind="CONTENT",
            fields=POST_FIELDS,
            roles={"creatorId": "author", "threadId": "thread", "ipAddress": "ip"},
        ),
        "user": ItemType.objects.create(
            id="user",
            name="User",
            kind="USER",
            fields=[{"name": "name", "type": "STRING", "required": True}],
        ),
        "message": ItemType.objects.create(
            id="message",
            name="Message",
            kind="CONTENT",
            fields=[{"name": "body", "type": "STRING", "required": True}],
        ),
    }


@pytest.fixture
def api(api_key) -> ApiClient:
    return ApiClient(api_key)


@pytest.fixture
def anonymous(db) -> ApiClient:
    return ApiClient(None)
