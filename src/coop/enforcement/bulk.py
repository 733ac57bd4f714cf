"""Bulk actions (review.md, Bulk actions): pasted ids, counted before anything runs, then
executed in chunks with every result recorded.

A bulk action is first a DRAFT: its ids parsed (`parse_ids`), de-duplicated, and matched
against the item store, with the counts shown for confirmation. Nothing runs until it is
confirmed; a list over MAX_IDS ids is refused whole. Once RUNNING, `run_chunk` executes the
actions on the next CHUNK pending ids in the caller's transaction, so a chunk's executions,
deliveries, results and progress commit together or not at all; each execution has the
idempotency key (bulk job, item, action), so even a chunk run twice executes nothing twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from coop.accounts.models import User
from coop.catalog.models import ItemType
from coop.core.items import ItemRef
from coop.enforcement.models import (
    ActionExecution,
    BulkActionItem,
    BulkActionJob,
    BulkItemResult,
    BulkJobStatus,
    Delivery,
    DeliveryStatus,
    ExecutionSource,
)
from coop.enforcement.services import (
    ActionError,
    ActionRequest,
    check_requests,
    execute_actions,
    executed_keys,
)

MAX_IDS = 10_000
MAX_ID_LENGTH = 255
CHUNK = 500
RESULTS_PAGE = 100
_IDS = re.compile(r"[^,\r\n]+")


class BulkInputError(ValueError):
    """Input that cannot become a bulk action; `field` names the form field."""

    def __init__(self, message: str, field: str, parsed: ParsedIds | None = None):
        super().__init__(message)
        self.message, self.field, self.parsed = message, field, parsed


@dataclass(frozen=True, slots=True)
class ParsedIds:
    ids: list[str]  # unique, in the order given (at most MAX_IDS)
    given: int  # ids in the text, duplicates included
    duplicates: int  # repeats of an id among the first MAX_IDS distinct ones
    over_limit: int  # ids after the first MAX_IDS distinct ones (not de-duplicated)


def parse_ids(text: str) -> ParsedIds:
    """The ids of the pasted text: one per line or separated by commas, blanks ignored.

    One pass over the text, reading it in place (time linear in its size); at most MAX_IDS
    distinct ids are kept, the rest only counted, so memory stays bounded whatever is pasted.
    An id longer than MAX_ID_LENGTH is refused with its position."""
    ids: dict[str, None] = {}
    given = duplicates = over = 0
    for match in _IDS.finditer(text):
        item_id = match.group().strip()
        if not item_id:
            continue
        given += 1
        if len(item_id) > MAX_ID_LENGTH:
            raise BulkInputError(
                f"Id number {given} is longer than {MAX_ID_LENGTH} characters.", "ids"
            )
        if item_id in ids:
            duplicates += 1
        elif len(ids) < MAX_IDS:
            ids[item_id] = None
        else:
            over += 1
    return ParsedIds(list(ids), given, duplicates, over)


def latest_submissions(item_type_id: str, ids: Sequence[str]) -> dict[str, int]:
    """The latest stored submission of each id of the type, in one query (the item index)."""
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (item_id) item_id, id FROM ingest_itemsubmission"
            " WHERE item_type_id = %s AND item_id = ANY(%s)"
            " ORDER BY item_id, submitted_at DESC, id DESC",
            [item_type_id, list(ids)],
        )
        return dict(cursor.fetchall())


def stored_as_other_types(item_type_id: str, ids: Sequence[str]) -> set[str]:
    """Those of `ids` that Coop stores only under another item type."""
    others = list(ItemType.objects.exclude(pk=item_type_id).values_list("pk", flat=True))
    if not ids or not others:
        return set()
    # Both columns given, so the item index (type, id) answers it, not a scan of the store.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT item_id FROM ingest_itemsubmission"
            " WHERE item_type_id = ANY(%s) AND item_id = ANY(%s)",
            [others, list(ids)],
        )
        return {row[0] for row in cursor.fetchall()}


@dataclass(frozen=True, slots=True)
class Draft:
    item_type_id: str
    parsed: ParsedIds
    requests: list[dict[str, Any]]  # [{"actionId", "policyIds", "parameters"}]
    reason: str
    fetched: int = 0  # ids found through partial items
    fetch_error: str = ""


def check_actions(item_type_id: str, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chosen actions as stored, checked as execution will check them (ActionError)."""
    if not requests:
        raise ActionError("No action", "Choose at least one action.", "/actions")
    probe = ItemRef("", item_type_id)
    parameters = check_requests(
        [
            ActionRequest(
                action_id=r["actionId"],
                item=probe,
                source=ExecutionSource.BULK,
                policy_ids=list(r["policyIds"]),
                parameters=dict(r["parameters"]),
            )
            for r in requests
        ]
    )
    return [{**r, "parameters": p} for r, p in zip(requests, parameters, strict=True)]


def create_draft(draft: Draft, user: User | None) -> BulkActionJob:
    """Store the draft and its ids with what the store knows of each, for confirmation.
    Over MAX_IDS ids: refused (BulkInputError), nothing stored."""
    parsed = draft.parsed
    if parsed.over_limit:
        raise BulkInputError(
            f"More than {MAX_IDS:,} distinct ids ({parsed.over_limit:,} over the limit): "
            "at most 10,000 per bulk action. Nothing was run.",
            "ids",
            parsed,
        )
    if not parsed.ids:
        raise BulkInputError("Paste at least one item id.", "ids")
    known = latest_submissions(draft.item_type_id, parsed.ids)
    other = stored_as_other_types(draft.item_type_id, [i for i in parsed.ids if i not in known])
    with transaction.atomic():
        job = BulkActionJob.objects.create(
            item_type_id=draft.item_type_id,
            requests=draft.requests,
            reason=draft.reason,
            created_by=user,
            created_by_email=user.email if user else "",
            given_count=parsed.given,
            duplicate_count=parsed.duplicates,
            unknown_count=len(parsed.ids) - len(known),
            other_type_count=len(other),
            fetched_count=draft.fetched,
            fetch_error=draft.fetch_error,
            total=len(parsed.ids),
        )
        BulkActionItem.objects.bulk_create(
            [
                BulkActionItem(
                    job=job, position=i, item_id=item_id, submission_id=known.get(item_id)
                )
                for i, item_id in enumerate(parsed.ids)
            ],
            batch_size=2000,
        )
    return job


def confirm(job: BulkActionJob) -> bool:
    """DRAFT → RUNNING (False if it was not a draft any more: confirmed twice). Call inside
    the transaction that defers its first chunk."""
    updated = BulkActionJob.objects.filter(pk=job.pk, status=BulkJobStatus.DRAFT).update(
        status=BulkJobStatus.RUNNING, started_at=timezone.now()
    )
    return bool(updated)


def idempotency_key(job_id: Any, item_pk: int, action_id: str) -> str:
    return f"bulk:{job_id}:{item_pk}:{action_id}"


def run_chunk(job: BulkActionJob) -> tuple[list[ActionExecution], bool]:
    """Execute the actions on the next CHUNK pending ids; returns the executions made now and
    whether ids remain. Call inside a transaction holding the job's row lock.

    The whole chunk is executed at once; if one request is refused (e.g. a built-in that
    cannot act on an item), the chunk is executed again item by item, each in a savepoint, so
    that only the refused items are marked REFUSED with the reason."""
    items = list(
        BulkActionItem.objects.select_for_update(skip_locked=True)
        .filter(job=job, result=BulkItemResult.PENDING)
        .order_by("position")[:CHUNK]
    )
    executions: list[ActionExecution] = []
    stored = [i for i in items if i.submission_id is not None]
    for item in items:
        if item.submission_id is None:
            item.result = BulkItemResult.UNKNOWN
            item.reason = f"Coop stores no {job.item_type_id} with this id."
    try:
        with transaction.atomic():
            executions = _execute(job, stored)
    except ActionError:
        executions = []
        for item in stored:
            try:
                with transaction.atomic():
                    executions += _execute(job, [item])
            except ActionError as exc:
                item.result, item.reason = BulkItemResult.REFUSED, f"{exc.title}: {exc.detail}"
    _save_results(items)
    BulkActionJob.objects.filter(pk=job.pk).update(processed=F("processed") + len(items))
    remaining = BulkActionItem.objects.filter(job=job, result=BulkItemResult.PENDING).exists()
    if not remaining:
        BulkActionJob.objects.filter(pk=job.pk).update(
            status=BulkJobStatus.DONE, finished_at=timezone.now()
        )
    return executions, remaining


# One statement for a chunk's results (bulk_update's CASE per row and column costs far more).
_SAVE_RESULTS = """
UPDATE enforcement_bulkactionitem b
SET result = r->>1, reason = r->>2,
    execution_ids = ARRAY(SELECT jsonb_array_elements_text(r->3))::uuid[]
FROM jsonb_array_elements(%s::jsonb) AS r
WHERE b.id = (r->>0)::bigint
"""


def _save_results(items: list[BulkActionItem]) -> None:
    rows = [[i.pk, i.result, i.reason, [str(e) for e in i.execution_ids]] for i in items]
    if rows:
        with connection.cursor() as cursor:
            cursor.execute(_SAVE_RESULTS, [json.dumps(rows)])


def _execute(job: BulkActionJob, items: list[BulkActionItem]) -> list[ActionExecution]:
    """Every chosen action on each item, one strike event per item; marks them EXECUTED.
    Returns the executions made now (not those a previous run of the chunk made)."""
    requests = [
        ActionRequest(
            action_id=r["actionId"],
            item=ItemRef(item.item_id, job.item_type_id),
            source=ExecutionSource.BULK,
            policy_ids=list(r["policyIds"]),
            parameters=dict(r["parameters"]),
            actor=job.created_by,
            decision_reason=job.reason,
            submission_id=item.submission_id,
            idempotency_key=idempotency_key(job.pk, item.pk, r["actionId"]),
            event=f"bulk:{job.pk}:{item.pk}",
        )
        for item in items
        for r in job.requests
    ]
    done_before = executed_keys(r.idempotency_key for r in requests)
    # Strike threshold actions on authors come after: they are not the bulk action's own.
    executions = execute_actions(requests)[: len(requests)]
    per_item = len(job.requests)
    for index, item in enumerate(items):
        taken = executions[index * per_item : (index + 1) * per_item]
        item.result, item.reason = BulkItemResult.EXECUTED, ""
        item.execution_ids = [e.pk for e in taken]
        refused = [e.refused_reason for e in taken if e.refused_reason]
        if refused:
            item.reason = "; ".join(refused)
    return [e for e in executions if e.idempotency_key not in done_before]


# ---------------------------------------------------------------------------------------------
# Results


DELIVERY_LABELS = {
    DeliveryStatus.PENDING: "pending",
    DeliveryStatus.FAILED: "retrying",
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.DEAD: "failed",
}


@dataclass(frozen=True, slots=True)
class ResultRow:
    position: int
    item_id: str
    result: str  # EXECUTED, UNKNOWN, REFUSED, PENDING, or FAILED_DELIVERY
    reason: str
    deliveries: str  # e.g. "delivered" or "failed: HTTP 500"

    @property
    def label(self) -> str:
        return RESULT_LABELS[self.result]


RESULT_LABELS = {
    "PENDING": "Pending",
    "EXECUTED": "Executed",
    "UNKNOWN": "Unknown item",
    "REFUSED": "Refused",
    "FAILED_DELIVERY": "Failed delivery",
}


def result_rows(job: BulkActionJob, after: int = -1, limit: int = RESULTS_PAGE) -> list[ResultRow]:
    """`limit` result rows after position `after`, with their deliveries' states (keyset
    paging by position: any page costs the same)."""
    items = list(
        BulkActionItem.objects.filter(job=job, position__gt=after)
        .order_by("position")
        .values_list("position", "item_id", "result", "reason", "execution_ids")[:limit]
    )
    execution_ids = [e for *_, ids in items for e in ids]
    deliveries: dict[Any, tuple[str, str]] = {
        execution: (status, error)
        for execution, status, error in Delivery.objects.filter(
            execution_id__in=execution_ids
        ).values_list("execution_id", "status", "last_error")
    }
    rows = []
    for position, item_id, result, reason, ids in items:
        states = [deliveries[e] for e in ids if e in deliveries]
        failed = [error for status, error in states if status == DeliveryStatus.DEAD]
        text = ", ".join(sorted({DELIVERY_LABELS[DeliveryStatus(s)] for s, _ in states}))
        if failed:
            result = "FAILED_DELIVERY"
            text = "failed: " + "; ".join(failed)
        rows.append(ResultRow(position, item_id, result, reason, text))
    return rows


@dataclass(frozen=True, slots=True)
class Summary:
    pending: int
    executed: int
    unknown: int
    refused: int
    failed_delivery: int
    deliveries_waiting: int


def summary(job: BulkActionJob) -> Summary:
    """The counts of each result, and of deliveries, in two grouped queries."""
    counts = dict(
        BulkActionItem.objects.filter(job=job)
        .values_list("result")
        .annotate(n=Count("id"))
        .values_list("result", "n")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.status, count(*) FROM enforcement_delivery d WHERE d.execution_id IN"
            " (SELECT unnest(execution_ids) FROM enforcement_bulkactionitem WHERE job_id = %s)"
            " GROUP BY 1",
            [job.pk],
        )
        states = dict(cursor.fetchall())
    return Summary(
        pending=counts.get(BulkItemResult.PENDING, 0),
        executed=counts.get(BulkItemResult.EXECUTED, 0),
        unknown=counts.get(BulkItemResult.UNKNOWN, 0),
        refused=counts.get(BulkItemResult.REFUSED, 0),
        failed_delivery=states.get(DeliveryStatus.DEAD, 0),
        deliveries_waiting=states.get(DeliveryStatus.PENDING, 0)
        + states.get(DeliveryStatus.FAILED, 0),
    )


CSV_HEADER = ["Position", "Item type", "Item ID", "Result", "Reason", "Deliveries"]


def csv_row(job: BulkActionJob, row: ResultRow) -> list[Any]:
    return [row.position + 1, job.item_type_id, row.item_id, row.label, row.reason, row.deliveries]
