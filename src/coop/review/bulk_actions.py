"""Bulk actions, end to end (review.md, Bulk actions): the draft with partial items asked
for the ids Coop does not store, the confirmation, and the background task that runs it chunk
by chunk and logs every action in Recent Decisions (source BULK).

The rules of the run itself (chunks, idempotency, results) are coop.enforcement.bulk's; this
module adds what lives above enforcement: the platform's partial items and the audit log.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from coop.accounts.models import User
from coop.catalog import builtins
from coop.catalog.models import Action
from coop.core.enums import DecisionSource
from coop.core.items import ItemRef
from coop.enforcement import bulk
from coop.enforcement.models import BulkActionJob, BulkJobStatus
from coop.enforcement.services import ActionError
from coop.integrations import partial_items
from coop.queueing import in_transaction
from coop.review.audit import record_manual_actions
from coop.review.visibility import may_see_child_safety

TASK = "coop.bulk_action"
# A chunk that failed (the database restarting, a deadlock) rolled back whole: run it again.
RETRY = RetryStrategy(max_attempts=10, exponential_wait=2)


def offered_actions(user: User) -> list[Action]:
    """Every action (the item type is chosen in the same form; execution checks that each
    applies to it); Enqueue to NCMEC only for child-safety users."""
    return [
        a
        for a in Action.objects.order_by("builtin", "name")
        if a.id != builtins.NCMEC or may_see_child_safety(user)
    ]


def prepare(
    item_type_id: str,
    ids_text: str,
    requests: list[dict[str, Any]],
    reason: str,
    user: User | None,
) -> BulkActionJob:
    """The draft of a bulk action, counted for confirmation. Raises BulkInputError (bad ids,
    over the limit) or ActionError (an action that cannot run as chosen); nothing is stored
    then. Ids Coop does not store are asked of the platform first when partial items are
    configured (those found are stored, as every partial-items answer)."""
    parsed = bulk.parse_ids(ids_text)
    if parsed.over_limit:
        bulk.create_draft(bulk.Draft(item_type_id, parsed, [], reason), user)  # raises
    offered = {a.id for a in offered_actions(user)} if user is not None else set()
    for r in requests:
        if user is not None and r["actionId"] not in offered:
            raise ActionError(
                "Action not offered", f"The action {r['actionId']!r} is not offered.", "/actions"
            )
    checked = bulk.check_actions(item_type_id, requests)
    fetched, fetch_error = 0, ""
    if partial_items.configured():
        known = bulk.latest_submissions(item_type_id, parsed.ids)
        missing = [ItemRef(i, item_type_id) for i in parsed.ids if i not in known]
        if missing:
            answer = partial_items.fetch_items(missing)
            fetched = len(answer.items)
            fetch_error = answer.error or ""
    draft = bulk.Draft(item_type_id, parsed, checked, reason, fetched, fetch_error)
    return bulk.create_draft(draft, user)


def start(job: BulkActionJob) -> bool:
    """Confirm the draft and queue its first chunk, in one transaction (False: it was
    already confirmed)."""
    with transaction.atomic():
        if not bulk.confirm(job):
            return False
        in_transaction(run_bulk_action).defer(job_id=str(job.pk))
    return True


@app.task(name=TASK, queue="bulk", retry=RETRY)
def run_bulk_action(job_id: str) -> None:
    """One chunk of a bulk action, its Recent Decisions records and the next chunk's task,
    in one transaction: a worker killed mid-chunk leaves the chunk pending, and the retried
    task (coop.tasks.retry_stalled_jobs) runs it again from the start."""
    with transaction.atomic():
        job = (
            BulkActionJob.objects.select_for_update(of=("self",))
            .select_related("created_by")
            .filter(pk=job_id, status=BulkJobStatus.RUNNING)
            .first()
        )
        if job is None:
            return  # finished, or deleted
        executions, remaining = bulk.run_chunk(job)
        record_manual_actions(executions, DecisionSource.BULK, job.created_by, reason=job.reason)
        if remaining:
            in_transaction(run_bulk_action).defer(job_id=job_id)
