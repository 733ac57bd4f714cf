"""Recent decisions (the audit log) and its CSV exports (review.md, Recent decisions).

Every decision on a job is recorded by coop.review.closing (`source` REVIEW); manual actions
taken outside a job (the actions API, later bulk actions and investigation) are recorded here
by `record_manual_actions`, in the caller's transaction, with their source.

The exports read the rows in keyset pages (`created_at, id` descending, `PAGE_SIZE` rows a
query) and write them one CSV line at a time, so any number of rows streams in constant
memory, with no row limit and no transaction held open. `Export.lines` is the synchronous
iterator (WSGI, the test client, the CLI); `Export.alines` the asynchronous one an ASGI server
needs (Django buffers a synchronous iterator whole under ASGI): each page is read in
`sync_to_async`, one page in memory at a time. Every cell goes through `csv_cell`, which
neutralises spreadsheet formulas (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import Q, QuerySet

from coop.accounts.models import User
from coop.core.enums import DecisionSource
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution
from coop.review.closing import action_component
from coop.review.models import Decision, DecisionType, Skip
from coop.review.visibility import visible_decisions, visible_skips

PAGE_SIZE = 1000
# A cell starting with one of these is a formula to a spreadsheet (=, +, -, @) or hides one
# behind a tab or carriage return: it is written with a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

DECISIONS_HEADER = [
    "Decision ID",
    "Decided at (UTC)",
    "Source",
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
    sources: Sequence[str] = field(default_factory=list)
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
    if f.sources:
        qs = qs.filter(source__in=list(f.sources))
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


def csv_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula: text starting with =, +, -, @, a
    tab or a carriage return gets a leading apostrophe (OWASP, CSV injection). Every export
    writes its cells through it."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Line:
    """One reusable buffer: csv.writer writes a row (each cell through `csv_cell`), we hand
    out the text."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def __call__(self, row: Iterable[Any]) -> str:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow([csv_cell(cell) for cell in row])
        return self.buffer.getvalue()


@dataclass
class Export:
    """One CSV export: a header, a queryset ordered `-created_at, -id`, the fields read from it
    (`id` and `created_at` first: the keyset) and how a row of them becomes the CSV row."""

    header: list[str]
    queryset: QuerySet[Any]
    fields: tuple[str, ...]
    row: Callable[[tuple[Any, ...]], list[Any]]

    def page(self, after: tuple[Any, Any] | None) -> list[tuple[Any, ...]]:
        """The next PAGE_SIZE rows after the keyset `(id, created_at)` of the last row sent."""
        qs = self.queryset
        if after is not None:
            pk, at = after
            qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk))
        return list(qs.values_list(*self.fields)[:PAGE_SIZE])

    def lines(self) -> Iterator[str]:
        """The header line, then one line per row (synchronous)."""
        line = _Line()
        yield line(self.header)
        after = None
        while True:
            rows = self.page(after)
            for r in rows:
                yield line(self.row(r))
            if len(rows) < PAGE_SIZE:
                return
            after = rows[-1][:2]

    async def alines(self) -> AsyncIterator[str]:
        """The same text for an ASGI server: one chunk per page, each page read in a
        worker thread (thread-sensitive: the request's own database connection, closed with
        the request)."""
        line = _Line()
        yield line(self.header)
        page = sync_to_async(self.page, thread_sensitive=True)
        after = None
        while True:
            rows = await page(after)
            if rows:
                yield "".join([line(self.row(r)) for r in rows])
            if len(rows) < PAGE_SIZE:
                return
            after = rows[-1][:2]


def _decision_row(row: tuple[Any, ...]) -> list[Any]:
    (
        pk,
        at,
        source,
        email,
        queue,
        type_id,
        item_id,
        types,
        actions,
        policies,
        reason,
        note,
        job,
    ) = row
    return [
        pk,
        _utc(at),
        source,
        email or ("Automatic" if source == DecisionSource.REVIEW else ""),
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


def decisions_export(filters: DecisionFilters | None = None) -> Export:
    """decisions.csv: one line per decision, newest first."""
    fields = (
        "id",
        "created_at",
        "source",
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
    return Export(DECISIONS_HEADER, recent_decisions(filters), fields, _decision_row)


def skips_export(filters: DecisionFilters | None = None) -> Export:
    """skips.csv: one line per skip, newest first."""
    fields = ("id", "created_at", "user__email", "queue_id", "job_id")

    def row(r: tuple[Any, ...]) -> list[Any]:
        _pk, at, email, queue, job = r
        return [email or "", queue, _utc(at), job, f"/jobs/{job}"]

    return Export(SKIPS_HEADER, skips(filters), fields, row)


def decisions_csv(filters: DecisionFilters | None = None) -> Iterator[str]:
    """decisions.csv, streamed: the header line, then one line per decision (newest first)."""
    return decisions_export(filters).lines()


def skips_csv(filters: DecisionFilters | None = None) -> Iterator[str]:
    """skips.csv, streamed: header, then one line per skip (newest first)."""
    return skips_export(filters).lines()


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# Manual actions outside a job


def record_manual_actions(
    executions: Sequence[ActionExecution],
    source: DecisionSource,
    actor: User | None = None,
    reason: str = "",
    note: str = "",
) -> list[Decision]:
    """Log manual actions taken outside a review job (the actions API, bulk actions,
    investigation) in Recent Decisions: one record per item, with the actions taken on it and
    their executions. Call inside the transaction that executed them."""
    by_item: dict[tuple[str, str], list[ActionExecution]] = {}
    for execution in executions:
        by_item.setdefault((execution.item_type_id, execution.item_id), []).append(execution)
    records = []
    for (type_id, item_id), taken in by_item.items():
        components = [_executed_component(e) for e in taken]
        records.append(
            Decision(
                job=None,
                queue_id="",
                item_id=item_id,
                item_type_id=type_id,
                reviewer=actor,
                reviewer_email=actor.email if actor else "",
                source=source,
                types=[DecisionType.ACTION],
                action_ids=list(dict.fromkeys(e.action_id for e in taken)),
                policy_ids=list(dict.fromkeys(p for e in taken for p in e.policy_ids)),
                components=components,
                reason=reason,
                note=note,
                created_at=min(e.created_at for e in taken),
            )
        )
    return Decision.objects.bulk_create(records)


def _executed_component(execution: ActionExecution) -> dict[str, Any]:
    item = ItemRef(execution.item_id, execution.item_type_id)
    component = action_component(
        execution.action_id, list(execution.policy_ids), dict(execution.parameters), item, False
    )
    component["executionIds"] = [str(execution.pk)]
    return component


def log_retroaction(executions: Sequence[ActionExecution], actor: User | None, reason: str) -> None:
    """A retroaction's new executions in Recent Decisions (source RETROACTION), registered
    with coop.rules.runs, which sits below review in the layers."""
    record_manual_actions(executions, DecisionSource.RETROACTION, actor=actor, reason=reason)
