"""Fixtures of the review tests: the platform API ones (shared with ingest) and a catalog."""

from __future__ import annotations

import pytest
from django.db import connection

from api.conftest import anonymous, api, item_types
from coop.catalog.models import Action, ItemType, Policy
from factories import PLATFORM, user

__all__ = ["anonymous", "api", "catalog", "item_types", "people"]


@pytest.fixture(autouse=True)
def _no_leftover_tasks(request):
    """Transactional tests commit delivery tasks; the flush between tests leaves
    procrastinate's tables alone, so empty them."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_periodic_defers")
            cursor.execute("DELETE FROM procrastinate_jobs")


@pytest.fixture
def catalog(db):
    """Item types `post` (author, thread, createdAt and isDeleted roles), `user`, `thread`;
    policies `spam`, `ads`; actions `delete` (posts, strikes, callback), `ban` (users,
    callback), `label` (any type, no callback)."""
    ItemType.objects.create(
        id="post",
        name="Post",
        kind="CONTENT",
        fields=[
            {"name": "text", "type": "STRING", "required": True},
            {"name": "author", "type": "RELATED_ITEM"},
            {"name": "thread", "type": "RELATED_ITEM"},
            {"name": "createdAt", "type": "DATETIME"},
            {"name": "deleted", "type": "BOOLEAN"},
        ],
        roles={
            "creatorId": "author",
            "threadId": "thread",
            "createdAt": "createdAt",
            "isDeleted": "deleted",
        },
    )
    ItemType.objects.create(
        id="user", name="User", kind="USER", fields=[{"name": "name", "type": "STRING"}]
    )
    ItemType.objects.create(id="thread", name="Thread", kind="THREAD", fields=[])
    Policy.objects.create(
        id="spam", name="Spam", penalty="MEDIUM", strikes=2, text="No spam.", guidelines="Ads"
    )
    Policy.objects.create(id="ads", name="Ads", penalty="LOW")
    Action.objects.create(
        id="delete",
        name="Delete",
        callback_url=f"{PLATFORM}/delete",
        body={"origin": "coop"},
        item_types=["post"],
        applies_strikes=True,
    )
    Action.objects.create(id="ban", name="Ban", callback_url=f"{PLATFORM}/ban", item_types=["user"])
    Action.objects.create(id="label", name="Label")


@pytest.fixture
def people(db):
    """Users by role: mod and mod2 (Moderator), manager (Moderator Manager), admin,
    external (External Moderator), cs (Child Safety Moderator), analyst (no review)."""
    return {
        "mod": user("mod@example.com"),
        "mod2": user("mod2@example.com"),
        "manager": user("manager@example.com", "Moderator Manager"),
        "admin": user("admin@example.com", "Admin"),
        "external": user("external@example.com", "External Moderator"),
        "cs": user("cs@example.com", "Child Safety Moderator"),
        "analyst": user("analyst@example.com", "Analyst"),
    }
