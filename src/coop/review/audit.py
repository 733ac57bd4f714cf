"""Recent decisions (the audit log) and its CSV exports (review.md, Recent decisions).

The exports are generators: rows are read through a server-side cursor (`.iterator()`) in
chunks and written one CSV line at a time, so any number of rows streams in constant memory
(no row limit). Feed them to a StreamingHttpResponse.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, QuerySet

from coop.accounts.models import User
from coop.review.models import Decision, Skip
from coop.review.visibility import visible_decisions, visible_skips

CHUNK_SIZE = 1000

DECISIONS_HEADER = [
    "Decision ID",
    "Decided at (UTC)",
    "Reviewer",
    "Queue",
    "Item type",
    "Item ID",
    "Decisions",
    "Actions",
    "Policies",
    "Reason",
    "Note",
    "Job ID",
    "Link",
]
SKIPS_HEADER = ["Reviewer", "Queue", "Skipped at (UTC)", "Job ID", "Link"]


@dataclass
class DecisionFilters:
    """Filters of Recent Decisions; empty lists and None mean "any".

    `types` are DecisionType values (a decision matches if one of its components has one of
    them); `start` is inclusive, `end` exclusive. `viewer`: child-safety decisions and skips
    are left out unless the viewer may see them (coop.review.visibility; None: no
    restriction, e.g. the CLI).
    """

    types: Sequence[str] = field(default_factory=list)
    action_ids: Sequence[str] = field(default_factory=list)
    policy_ids: Sequence[str] = field(default_factory=list)
    queue_ids: Sequence[str] = field(default_factory=list)
    reviewer_ids: Sequence[int] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    item_id: str | None = None
    job_id: Any = None
    viewer: User | None = None


def recent_decisions(filters: DecisionFilters | None = None) -> QuerySet[Decision]:
    """Decisions matching the filters, newest first (paginate or slice it)."""
    f = filters or DecisionFilters()
    qs = Decision.objects.all()
    if f.types:
        qs = qs.filter(types__overlap=list(f.types))
    if f.action_ids:
        qs = qs.filter(action_ids__overlap=list(f.action_ids))
    if f.policy_ids:
        qs = qs.filter(policy_ids__overlap=list(f.policy_ids))
    if f.queue_ids:
        qs = qs.filter(queue_id__in=list(f.queue_ids))
    if f.reviewer_ids:
        qs = qs.filter(reviewer_id__in=list(f.reviewer_ids))
    if f.start is not None:
        qs = qs.filter(created_at__gte=f.start)
    if f.end is not None:
        qs = qs.filter(created_at__lt=f.end)
    if f.item_id:
        qs = qs.filter(item_id=f.item_id)
    if f.job_id:
        qs = qs.filter(job_id=f.job_id)
    qs = visible_decisions(f.viewer, qs)
    return qs.order_by("-created_at", "-id")


def skips(filters: DecisionFilters | None = None) -> QuerySet[Skip]:
    """Skips matching the queue, reviewer and date filters, newest first."""
    f = filters or DecisionFilters()
    q = Q()
    if f.queue_ids:
        q &= Q(queue_id__in=list(f.queue_ids))
    if f.reviewer_ids:
        q &= Q(user_id__in=list(f.reviewer_ids))
    if f.start is not None:
        q &= Q(created_at__gte=f.start)
    if f.end is not None:
        q &= Q(created_at__lt=f.end)
    return visible_skips(f.viewer, Skip.objects.filter(q)).order_by("-created_at", "-id")


class _Line:
    """One reusable buffer: csv.writer writes a row, we hand out the text."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def __call__(self, row: Sequence[Any]) -> str:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow(row)
        return self.buffer.getvalue()


def decisions_csv(filters: DecisionFilters | None = None) -> Iterator[str]:
    """decisions.csv, streamed: the header line, then one line per decision (newest first)."""
    line = _Line()
    yield line(DECISIONS_HEADER)
    rows = recent_decisions(filters).values_list(
        "id",
        "created_at",
        "reviewer_email",
        "queue_id",
        "item_type_id",
        "item_id",
        "types",
        "action_ids",
        "policy_ids",
        "reason",
        "note",
        "job_id",
    )
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        (pk, at, email, queue, type_id, item_id, types, actions, policies, reason, note, job) = row
        yield line(
            [
                pk,
                _utc(at),
                email or "Automatic",
                queue,
                type_id,
                item_id,
                " ".join(types),
                " ".join(actions),
                " ".join(policies),
                reason,
                note,
                job or "",
                f"/jobs/{job}" if job else "",
            ]
        )


def skips_csv(filters: DecisionFilters | None = None) -> Iterator[str]:
    """skips.csv, streamed: header, then one line per skip (newest first)."""
    line = _Line()
    yield line(SKIPS_HEADER)
    rows = skips(filters).values_list("user__email", "queue_id", "created_at", "job_id")
    for email, queue, at, job in rows.iterator(chunk_size=CHUNK_SIZE):
        yield line([email or "", queue, _utc(at), job, f"/jobs/{job}"])


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
