"""Gathering a user's media and threads for their NCMEC job (review.md, NCMEC), from the
stored submissions.

Media: the latest submission of every item the user created (and of the items that led to
the job), every value of a media-typed field (IMAGE, VIDEO, AUDIO, MEDIA, and arrays and maps
of them; hidden fields left out), the reported items first, then the user's other items
newest first, then the user's own item (a profile picture). Threads: those of the reported
items, then those the user wrote in most recently, each with its latest messages, so
text-only cases can be reported too.

The work is bounded whatever the user's history: at most SCAN_LIMIT of their submissions
are read (newest first), MAX_MEDIA media are kept (with the total found), MAX_THREADS threads
of at most MESSAGES_PER_THREAD messages each. Only stored data is read here: items Coop had
no data for were asked from the platform before (partial items, coop.childsafety.jobs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coop.catalog.models import ItemType
from coop.core.field_types import MEDIA_TYPES, FieldType
from coop.core.items import ItemRef
from coop.core.media import is_http_url, media_kind
from coop.ingest.models import ItemSubmission
from coop.ingest.store import latest_for_each
from coop.review.redaction import visible_fields

MAX_MEDIA = 50  # with 10 annotations each, one form stays under Django's 1,000 fields
SCAN_LIMIT = 2000
MAX_THREADS = 5
MESSAGES_PER_THREAD = 50
THREAD_SCAN = 500  # newest submissions read per thread to find its latest messages


@dataclass(frozen=True)
class Gathered:
    media: list[dict[str, Any]]  # [{item, url, kind, field, reported, submissionId}]
    media_total: int  # every media value found (the list keeps the first MAX_MEDIA)
    scan_complete: bool  # False: the user has more than SCAN_LIMIT submissions
    threads: list[dict[str, Any]]  # [{thread, messages: [{item, submissionId, ...}], more}]


def _ref(sub: ItemSubmission) -> ItemRef:
    return ItemRef(sub.item_id, sub.item_type_id)


def media_values(sub: ItemSubmission, item_type: ItemType | None) -> Iterator[tuple[str, str, str]]:
    """(field name, URL, kind IMAGE|VIDEO|AUDIO) of every media value of the submission, in
    schema order; hidden fields and anything but http(s) URLs left out."""
    data = sub.data if isinstance(sub.data, dict) else {}
    for spec in visible_fields(item_type):
        name, ftype = spec.get("name"), spec.get("type")
        raw = data.get(name)
        if raw is None:
            continue
        if ftype == FieldType.ARRAY:
            scalar, values = spec.get("items"), raw if isinstance(raw, list) else []
        elif ftype == FieldType.MAP:
            scalar, values = spec.get("values"), list(raw.values()) if isinstance(raw, dict) else []
        else:
            scalar, values = ftype, [raw]
        if scalar not in MEDIA_TYPES:
            continue
        for value in values:
            url = value.get("url") if isinstance(value, dict) else value
            if is_http_url(url):
                yield str(name), url, _kind(str(scalar), url)


def _kind(field_type: str, url: str) -> str:
    if field_type == FieldType.MEDIA:
        return str(media_kind(url) or FieldType.IMAGE)
    return field_type


def gather(user: ItemRef, entries: list[ItemRef]) -> Gathered:
    """The user's media and threads, the items of `entries` (those that led to the job)
    first. A fixed number of queries: the entries' and the user's latest submissions, the
    user's newest SCAN_LIMIT submissions, their item types, one per thread."""
    latest = latest_for_each([*entries, user])
    own = list(
        ItemSubmission.objects.filter(creator_id=user.item_id, creator_type_id=user.item_type_id)
        .order_by("-submitted_at", "-id")
        .only("id", "item_id", "item_type_id", "data", "thread_id", "thread_type_id")[
            : SCAN_LIMIT + 1
        ]
    )
    scan_complete = len(own) <= SCAN_LIMIT
    ordered: list[tuple[ItemSubmission, bool]] = []
    seen: set[ItemRef] = set()

    def add(sub: ItemSubmission | None, reported: bool) -> None:
        if sub is not None and _ref(sub) not in seen:
            seen.add(_ref(sub))
            ordered.append((sub, reported))

    for ref in entries:
        if ref != user:
            add(latest.get(ref), True)
    for sub in own[:SCAN_LIMIT]:  # newest first: the first one of an item is its latest
        add(sub, False)
    add(latest.get(user), user in entries)
    item_types = ItemType.objects.in_bulk({sub.item_type_id for sub, _ in ordered})
    media: list[dict[str, Any]] = []
    pairs: set[tuple[ItemRef, str]] = set()
    for sub, reported in ordered:
        for name, url, kind in media_values(sub, item_types.get(sub.item_type_id)):
            if (_ref(sub), url) in pairs:
                continue
            pairs.add((_ref(sub), url))
            if len(media) < MAX_MEDIA:
                media.append(
                    {
                        "item": _ref(sub).as_wire(),
                        "url": url,
                        "kind": kind,
                        "field": name,
                        "reported": reported,
                        "submissionId": sub.pk,
                    }
                )
    threads = _threads(user, [sub for sub, _ in ordered])
    return Gathered(media, len(pairs), scan_complete, threads)


def _threads(user: ItemRef, subs: list[ItemSubmission]) -> list[dict[str, Any]]:
    """The threads of `subs` (reported items first, then the user's newest), each with its
    latest MESSAGES_PER_THREAD messages in time order."""
    refs: list[ItemRef] = []
    for sub in subs:
        if sub.thread_id and sub.thread_type_id:
            ref = ItemRef(sub.thread_id, sub.thread_type_id)
            if ref not in refs:
                refs.append(ref)
        if len(refs) == MAX_THREADS:
            break
    out = []
    for thread in refs:
        rows = list(
            ItemSubmission.objects.filter(
                thread_id=thread.item_id, thread_type_id=thread.item_type_id
            )
            .order_by("-submitted_at", "-id")
            .only("id", "item_id", "item_type_id", "creator_id", "creator_type_id", "submitted_at")[
                :THREAD_SCAN
            ]
        )
        latest: dict[ItemRef, ItemSubmission] = {}
        for row in rows:
            latest.setdefault(_ref(row), row)
        messages = list(latest.values())
        more = len(messages) > MESSAGES_PER_THREAD or len(rows) == THREAD_SCAN
        messages = sorted(messages[:MESSAGES_PER_THREAD], key=lambda s: (s.submitted_at, s.pk))
        out.append(
            {
                "thread": thread.as_wire(),
                "messages": [_message(m, user) for m in messages],
                "more": more,
            }
        )
    return out


def _message(sub: ItemSubmission, user: ItemRef) -> dict[str, Any]:
    creator = (
        ItemRef(sub.creator_id, sub.creator_type_id)
        if sub.creator_id and sub.creator_type_id
        else None
    )
    return {
        "item": _ref(sub).as_wire(),
        "submissionId": sub.pk,
        "creator": creator.as_wire() if creator else None,
        "byUser": creator == user,
        "at": _iso(sub.submitted_at),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat()
