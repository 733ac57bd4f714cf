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


def busy_week(now: datetime, seed: int = 5) -> None:
    """A week of activity for the pages: three rules, two queues, three policies, two
    moderators, folded into the rollups."""
    import random
    from datetime import timedelta

    import factories
    from coop.catalog.models import Policy
    from coop.insights import fold
    from coop.rules.models import Rule

    rng = random.Random(seed)
    for pid, name in [("spam", "Spam"), ("harassment", "Harassment"), ("scam", "Scams")]:
        Policy.objects.get_or_create(id=pid, defaults={"name": name})
    rules = {"links": "Links from new accounts", "slurs": "Slur list", "crypto": "Crypto giveaway"}
    for rid, name in rules.items():
        Rule.objects.get_or_create(
            id=rid, defaults={"name": name, "status": "LIVE", "item_types": ["post"]}
        )
    queues = [factories.queue("spam-q", name="Spam"), factories.queue("abuse-q", name="Abuse")]
    mods = [factories.user("ana@example.com"), factories.user("bo@example.com")]
    rows = []
    for h in range(24 * 7):
        at = now - timedelta(hours=h)
        volume = 40 + int(20 * (1 + (h % 24 > 8)))
        for rid, rate in (("links", 0.1), ("slurs", 0.03), ("crypto", 0.2 if h > 3 else 0.6)):
            for _ in range(volume):
                outcome = "PASSED" if rng.random() < rate else "FAILED"
                rows.append((rid, "LIVE", outcome, at - timedelta(minutes=rng.randrange(60))))
        for _ in range(rng.randrange(2, 6)):
            rid = rng.choice(list(rules))
            action_execution(
                rng.choice(["ban", "delete"]),
                rng.choice(["RULE", "RULE", "REVIEW", "BULK", "API"]),
                at,
                policies=[rng.choice(["spam", "harassment", "scam"])],
                rules=[rid],
            )
        q = rng.choice(queues)
        created = job(q, at - timedelta(minutes=30))
        if h > 2:
            decision(
                created,
                at - timedelta(minutes=30) + timedelta(seconds=rng.randrange(60, 7200)),
                reviewer=rng.choice(mods),
                policies=[rng.choice(["spam", "harassment"])],
            )
        if rng.random() < 0.2:
            skip(created, at, user=rng.choice(mods))
    rule_executions(rows)
    while fold.fold().deltas:
        pass
    fold.sample_queue_depth()
