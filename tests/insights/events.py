"""Raw events for the insights tests, written through the ORM like the services write them."""

from __future__ import annotations

import uuid
from datetime import datetime

from coop.enforcement.models import ActionExecution
from coop.review.models import Decision, Job, Queue, Skip
from coop.rules.models import RuleExecution


def rule_executions(rows: list[tuple[str, str, str, datetime]]) -> None:
    """(rule_id, environment, outcome, created_at) each."""
    RuleExecution.objects.bulk_create(
        RuleExecution(
            rule_id=rule,
            rule_version=1,
            environment=env,
            submission_id=i,
            item_id=f"i{i}",
            item_type_id="post",
            outcome=outcome,
            result={},
            duration_us=1,
            created_at=at,
        )
        for i, (rule, env, outcome, at) in enumerate(rows)
    )


def action_execution(
    action: str, source: str, at: datetime, policies=(), rules=(), refused: str = ""
) -> ActionExecution:
    return ActionExecution.objects.create(
        action_id=action,
        item_id=uuid.uuid4().hex,
        item_type_id="post",
        source=source,
        policy_ids=list(policies),
        rules=[{"id": r, "version": 1, "name": r} for r in rules],
        refused_reason=refused,
        created_at=at,
    )


def job(queue: Queue, at: datetime, source: str = "REPORT") -> Job:
    return Job.objects.create(
        queue=queue, item_id=uuid.uuid4().hex, item_type_id="post", source=source, created_at=at
    )


def decision(job: Job, at: datetime, reviewer=None, policies=()) -> Decision:
    return Decision.objects.create(
        job=job,
        queue_id=job.queue_id,
        item_id=job.item_id,
        item_type_id=job.item_type_id,
        reviewer=reviewer,
        types=["IGNORE"],
        policy_ids=list(policies),
        created_at=at,
    )


def skip(job: Job, at: datetime, user=None) -> Skip:
    return Skip.objects.create(job=job, user=user, queue_id=job.queue_id, created_at=at)
