"""Creating and merging review jobs (review.md, Jobs), and the status of reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission
from coop.review.models import (
    Decision,
    DecisionType,
    Job,
    JobKind,
    JobSource,
    JobStatus,
    Queue,
    Report,
)

# One statement, race-safe: the partial unique index one_pending_job_per_item_and_queue decides
# between insert and merge. On merge the job keeps its id and created_at (so its FIFO position);
# policy ids are unioned in first-seen order; the latest submission becomes the job's data.
# PRIORITY (review.md): priority = signal score + report count, where the signal score is the
# highest one given for the job so far (so priority - report_count is the signal score).
_UPSERT_JOB = """
INSERT INTO review_job AS j (
    id, queue_id, kind, status, item_id, item_type_id, submission_id, source, policy_ids,
    report_count, priority, created_at, updated_at
) VALUES (%s, %s, %s, 'PENDING', %s, %s, %s, %s, %s::varchar[], %s, %s, %s, %s)
ON CONFLICT (queue_id, item_type_id, item_id, kind) WHERE status = 'PENDING'
DO UPDATE SET
    report_count = j.report_count + EXCLUDED.report_count,
    priority = GREATEST(j.priority - j.report_count, EXCLUDED.priority - EXCLUDED.report_count)
        + j.report_count + EXCLUDED.report_count,
    policy_ids = ARRAY(
        SELECT p FROM unnest(j.policy_ids || EXCLUDED.policy_ids) WITH ORDINALITY AS t(p, n)
        GROUP BY p ORDER BY min(n)
    ),
    submission_id = COALESCE(EXCLUDED.submission_id, j.submission_id),
    updated_at = EXCLUDED.updated_at
RETURNING id
"""


def default_queue() -> Queue:
    return Queue.objects.get(is_default=True, is_appeals=False)


def default_appeals_queue() -> Queue:
    return Queue.objects.get(is_default=True, is_appeals=True)


def enqueue_for_review(
    item: ItemSubmission | ItemRef,
    queue: Queue,
    source: JobSource,
    policy_ids: list[str],
    report: Report | None = None,
    signal_score: float = 0.0,
    kind: JobKind | None = None,
) -> Job:
    """Create the item's pending job in `queue`, or merge into the one that exists.

    `kind`: the job's kind, by default APPEAL in appeals queues and DEFAULT elsewhere
    (coop.childsafety asks for NCMEC: a user's pending NCMEC job is a job of its own).

    `signal_score`: the score the enqueuing signals gave (PRIORITY queues order by it plus
    the report count; the highest score given for the job is kept).

    `item` is the submission holding the item's latest data, or only its reference when Coop
    has no data for it (e.g. an author sent to review). A `report` (unsaved) is attached to
    the job and counted; the report history of a job is its reports. Call inside the caller's
    transaction.
    """
    submission_id = item.pk if isinstance(item, ItemSubmission) else None
    now = timezone.now()
    if kind is None:
        kind = JobKind.APPEAL if queue.is_appeals else JobKind.DEFAULT
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_JOB,
            [
                uuid.uuid4(),
                queue.pk,
                kind,
                item.item_id,
                item.item_type_id,
                submission_id,
                source,
                list(dict.fromkeys(policy_ids)),
                1 if report is not None else 0,
                signal_score + (1 if report is not None else 0),
                now,
                now,
            ],
        )
        (job_id,) = cursor.fetchone()
    job = Job.objects.get(pk=job_id)
    if report is not None:
        report.job = job
        report.save()
    return job


# The decision component types platforms see on GET /api/v1/report/{id} (api.md).
WIRE_DECISION_TYPES = {
    DecisionType.ACTION,
    DecisionType.IGNORE,
    DecisionType.MOVE,
    DecisionType.NCMEC,
    DecisionType.AUTOMATIC_CLOSE,
}


@dataclass(frozen=True, slots=True)
class ReportState:
    report_id: uuid.UUID
    status: JobStatus
    queue_id: str
    job_id: uuid.UUID
    # {"decidedAt", "components": [{"type", "actionIds"?, "policyIds"?}]}: the job's latest
    # decision, None while there is none (or the report was invalidated).
    decision: dict[str, Any] | None = None


def decision_summary(decision: Decision) -> dict[str, Any] | None:
    """A decision as platforms see it; None when none of its components is for them."""
    components = []
    for c in decision.components:
        if c.get("type") not in WIRE_DECISION_TYPES:
            continue
        out: dict[str, Any] = {"type": c["type"]}
        if c["type"] == DecisionType.ACTION:
            out["actionIds"] = list(c.get("actionIds", []))
            out["policyIds"] = list(c.get("policyIds", []))
        components.append(out)
    if not components:
        return None
    return {"decidedAt": decision.created_at, "components": components}


def report_state(report_id: str) -> ReportState | None:
    """The report's status as platforms see it, with the job's latest decision; None for
    unknown (or malformed) ids."""
    try:
        pk = uuid.UUID(report_id)
    except ValueError:
        return None
    report = Report.objects.select_related("job").filter(pk=pk).first()
    if report is None:
        return None
    status = JobStatus(report.job.status)
    if report.invalidated_at is not None:
        status = JobStatus.INVALIDATED
    decision = None
    if report.invalidated_at is None:
        latest = Decision.objects.filter(job_id=report.job_id).order_by("-created_at").first()
        if latest is not None:
            decision = decision_summary(latest)
    return ReportState(report.pk, status, report.job.queue_id, report.job.pk, decision)
