"""Fixtures of the NCMEC review tests: a catalog with media fields, people by role, the NCMEC
queue, and a helper that stores submissions as the platform API does (roles extracted by the
item type's schema)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from api.conftest import api
from config.conftest import run_config
from coop.catalog.item_data import schemas_for
from coop.catalog.models import ItemType
from coop.config.services import save_object
from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission
from factories import queue, user

__all__ = ["api", "run_config"]

IMG = "https://media.example/"


@pytest.fixture
def catalog(db):
    """`user` (avatar as profileIcon), `post` (text, images, video, a hidden image, author,
    thread), `message` (text, author, thread), `thread`."""
    ItemType.objects.create(
        id="user",
        name="User",
        kind="USER",
        fields=[
            {"name": "name", "type": "STRING"},
            {"name": "avatar", "type": "IMAGE"},
        ],
        roles={"displayName": "name", "profileIcon": "avatar"},
    )
    ItemType.objects.create(
        id="post",
        name="Post",
        kind="CONTENT",
        fields=[
            {"name": "text", "type": "STRING"},
            {"name": "images", "type": "ARRAY", "items": "IMAGE"},
            {"name": "video", "type": "VIDEO"},
            {"name": "internal", "type": "IMAGE"},
            {"name": "author", "type": "RELATED_ITEM"},
            {"name": "thread", "type": "RELATED_ITEM"},
        ],
        roles={"creatorId": "author", "threadId": "thread"},
        hidden_fields=["internal"],
    )
    ItemType.objects.create(
        id="message",
        name="Message",
        kind="CONTENT",
        fields=[
            {"name": "text", "type": "STRING"},
            {"name": "author", "type": "RELATED_ITEM"},
            {"name": "thread", "type": "RELATED_ITEM"},
        ],
        roles={"creatorId": "author", "threadId": "thread"},
    )
    ItemType.objects.create(id="thread", name="Thread", kind="THREAD", fields=[])


_clock = {"n": 0}


def store(item_id: str, type_id: str = "post", *, author: str | None = "u-1", **data):
    """A submission of `item_id` with `data`, its roles extracted like the API does; each
    call is one second later than the previous one (newest last)."""
    if author is not None:
        data["author"] = {"id": author, "typeId": "user"}
    if "thread" in data and isinstance(data["thread"], str):
        data["thread"] = {"id": data["thread"], "typeId": "thread"}
    item_type = ItemType.objects.get(pk=type_id)
    schema = schemas_for([item_type])[type_id]
    clean = schema.validate(data)
    roles = schema.roles(clean)
    _clock["n"] += 1
    return ItemSubmission.objects.create(
        item_id=item_id,
        item_type_id=type_id,
        item_type_version=item_type.version,
        data=clean,
        source="API",
        creator_id=roles.creator_id,
        creator_type_id=roles.creator_type_id,
        thread_id=roles.thread_id,
        thread_type_id=roles.thread_type_id,
        submitted_at=timezone.now() - timedelta(hours=1) + timedelta(seconds=_clock["n"]),
    )


@pytest.fixture
def people(db):
    """One user per predefined role that reviews: mod (Moderator), cs (Child Safety
    Moderator), manager (Moderator Manager), admin, external."""
    return {
        "mod": user("mod@example.com"),
        "cs": user("cs@example.com", "Child Safety Moderator"),
        "cs2": user("cs2@example.com", "Child Safety Moderator"),
        "manager": user("manager@example.com", "Moderator Manager"),
        "admin": user("admin@example.com", "Admin"),
        "external": user("external@example.com", "External Moderator"),
    }


@pytest.fixture
def ncmec_queue(catalog, people):
    """The NCMEC queue, reviewed by cs and cs2, set as `ncmec.defaultQueue`."""
    q = queue("ncmec", [people["cs"], people["cs2"]], name="NCMEC review")
    assert save_object("ncmec", {"defaultQueue": "ncmec"}).ok
    return q


def enable_reporting(**extra) -> None:
    """Everything reporting needs, as the settings page would save it."""
    from coop.catalog.credentials import encrypt_credential

    block = {
        "defaultQueue": "ncmec",
        "companyReportName": "Example Inc.",
        "legalUrl": "https://example.com/legal",
        "contactEmail": "safety@example.com",
        "username": "reporter",
        "password": encrypt_credential("cybertip-pass"),
        **extra,
    }
    result = save_object("ncmec", block)
    assert result.ok, result.errors


USER = ItemRef("u-1", "user")
