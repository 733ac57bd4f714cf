"""The item submission store: every submission of every item, as received, newest last.

Everyone reads items through here: the latest data of an item is `latest_for(ref)`, its history
`history_of(ref)`. Items are identified by (type, id); see coop.core.items.ItemRef.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission
from coop.queueing import defer_expression


class NewSubmission(NamedTuple):
    """A validated submission row before insert; its field order is the INSERT's (one JSON array
    per row), and it is much cheaper to build than a model instance on the hot path."""

    item_id: str
    item_type_id: str
    item_type_version: int
    data: dict[str, Any]
    source: str
    creator_id: str | None
    creator_type_id: str | None
    thread_id: str | None
    thread_type_id: str | None
    ip_address: str | None


# One statement for the whole batch with a single JSON parameter (one row = one JSON array):
# far cheaper on the client than bulk_create's one bound array per column, which dominated the
# ingest profile.
_INSERT_SUBMISSIONS = """
INSERT INTO ingest_itemsubmission (
    item_id, item_type_id, item_type_version, data, source, creator_id, creator_type_id,
    thread_id, thread_type_id, ip_address, submitted_at
)
SELECT r->>0, r->>1, (r->>2)::integer, r->3, r->>4, r->>5, r->>6, r->>7, r->>8,
       (r->>9)::inet, %s
FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS t(r, n)
ORDER BY n
RETURNING id
"""


def insert_submissions_for(rows: list[NewSubmission], task: Any) -> list[int]:
    """Insert `rows` and defer `task(submission_ids=[their ids])`, in one statement."""
    if not rows:
        return []
    defer, defer_params = defer_expression(
        task, "jsonb_build_object('submission_ids', to_jsonb(inserted.ids))"
    )
    # Composed of this module's constants; every value is a parameter.
    sql = (
        f"WITH rows AS ({_INSERT_SUBMISSIONS}), "  # noqa: S608
        "inserted AS (SELECT array_agg(id ORDER BY id) AS ids FROM rows) "
        f"SELECT inserted.ids, {defer} FROM inserted"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), json.dumps(rows), *defer_params])
        (ids, _) = cursor.fetchone()
    return list(ids)


def insert_submissions(rows: list[NewSubmission]) -> list[int]:
    """Insert `rows` in one statement; their ids, in order."""
    if not rows:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SUBMISSIONS, [timezone.now(), json.dumps(rows)])
        # Ids come from one sequence in insertion order (ORDER BY n), so sorted ids are row order.
        return sorted(pk for (pk,) in cursor.fetchall())


def history_of(ref: ItemRef) -> QuerySet[ItemSubmission]:
    """Every submission of the item, newest first (ties broken by insertion order)."""
    return ItemSubmission.objects.filter(
        item_type_id=ref.item_type_id, item_id=ref.item_id
    ).order_by("-submitted_at", "-id")


def latest_for(ref: ItemRef) -> ItemSubmission | None:
    """The submission holding the item's current data, or None when Coop has never seen it."""
    return history_of(ref).first()


def latest_for_each(refs: Iterable[ItemRef]) -> dict[ItemRef, ItemSubmission]:
    """The latest submission of each item, in one query."""
    refs = set(refs)
    if not refs:
        return {}
    q = Q()
    for r in refs:
        q |= Q(item_type_id=r.item_type_id, item_id=r.item_id)
    rows = (
        ItemSubmission.objects.filter(q)
        .order_by("item_type_id", "item_id", "-submitted_at", "-id")
        .distinct("item_type_id", "item_id")
    )
    return {ItemRef(s.item_id, s.item_type_id): s for s in rows}
