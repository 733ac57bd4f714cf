"""Clear other reports (review.md, per-queue option): closing the item's other pending jobs
when a decision ran one of the queue's trigger actions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from coop.accounts.models import User
from coop.review.closing import action_component, build_decision, wire
from coop.review.items import job_item
from coop.review.models import (
    ClearDisposition,
    ClearScope,
    Decision,
    DecisionType,
    Job,
    JobKind,
    JobStatus,
)


class ActionTaken(Protocol):
    action_id: str
    policy_ids: list[str]
    parameters: dict[str, Any]


def clear_other_reports(
    job: Job, user: User, on_item: Iterable[ActionTaken], reason: str, now: datetime
) -> list[Decision]:
    """The queue's "Clear other reports": when the decision ran one of the queue's trigger
    actions on the job's item, the item's other pending jobs (this queue or all non-appeal
    queues) are closed, with the same decision (the trigger actions, recorded, not executed a
    second time: they already ran on this very item) or as ignored (no ignore callback: the
    item was actioned). Recorded under `user`; never touches appeal or NCMEC jobs; jobs being
    decided at this very moment (row locked) are left alone. Not recursive."""
    queue = job.queue
    triggers = set(queue.clear_trigger_actions)
    if (
        queue.is_appeals
        or job.kind != JobKind.DEFAULT
        or not queue.clear_disposition
        or not triggers
    ):
        return []
    fired = [c for c in on_item if c.action_id in triggers]
    if not fired:
        return []
    others = (
        Job.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            status=JobStatus.PENDING,
            item_id=job.item_id,
            item_type_id=job.item_type_id,
            kind=JobKind.DEFAULT,
        )
        .exclude(pk=job.pk)
    )
    if queue.clear_scope == ClearScope.THIS_QUEUE:
        others = others.filter(queue=queue)
    else:
        others = others.filter(queue__is_appeals=False)
    others = list(others)
    if not others:
        return []
    item = job_item(job)  # the same item for every other job, so the same components
    if queue.clear_disposition == ClearDisposition.SAME_DECISION:
        components = [
            {
                **action_component(c.action_id, c.policy_ids, c.parameters, item, False),
                "clearedBy": str(job.pk),
            }
            for c in fired
        ]
    else:
        components = [{"type": DecisionType.IGNORE, "clearedBy": str(job.pk)}]
    components = [wire(c) for c in components]
    records = Decision.objects.bulk_create(
        [build_decision(other, user, components, reason, "", now) for other in others]
    )
    Job.objects.filter(pk__in=[other.pk for other in others]).update(
        status=JobStatus.DECIDED,
        closed_at=now,
        updated_at=now,
        lease_owner=None,
        lease_expires_at=None,
    )
    return records


__all__ = ["clear_other_reports"]
