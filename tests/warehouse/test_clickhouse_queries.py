"""The dashboards' figures from ClickHouse equal those from the PostgreSQL rollups, on one
dataset of every kind of event (the rollups folded by the worker's code, the events shipped
through the outbox). Needs coop.insights (the dashboards' query interface)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from tests import factories

from coop.enforcement.models import ActionExecution
from coop.insights import fold
from coop.insights import postgres as rollups
from coop.insights.queries import BACKEND_FUNCTIONS, Window, truncate
from coop.review.models import Decision, Job, Skip
from coop.rules.models import RuleExecution
from coop.warehouse import clickhouse_queries, sink

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reachable():
    """Each test starts with ClickHouse not known to be down."""
    clickhouse_queries._unreachable_until = 0.0
    yield
    clickhouse_queries._unreachable_until = 0.0


@pytest.fixture
def dataset(ch):
    """Six days before now of rule executions, actions, jobs, decisions and skips."""
    sink.sync_state()
    rng = random.Random(7)
    now = timezone.now()
    queues = [factories.queue("qa"), factories.queue("qb")]
    reviewers = [factories.user("a@example.com"), factories.user("b@example.com")]

    def at() -> datetime:
        return now - timedelta(minutes=rng.randrange(0, 60 * 24 * 6))

    RuleExecution.objects.bulk_create(
        RuleExecution(
            rule_id=rng.choice("xyz"),
            rule_version=1,
            environment=rng.choice(["LIVE", "LIVE", "BACKGROUND"]),
            submission_id=i,
            item_id=f"i{i}",
            item_type_id="post",
            outcome=rng.choice(["PASSED", "FAILED", "ERRORED", "INAPPLICABLE"]),
            result={},
            duration_us=1,
            created_at=at(),
        )
        for i in range(500)
    )
    for _ in range(150):
        ActionExecution.objects.create(
            action_id=rng.choice(["ban", "warn"]),
            item_id=uuid.uuid4().hex,
            item_type_id="post",
            source=rng.choice(["RULE", "REVIEW", "BULK", "API"]),
            policy_ids=rng.sample(["p1", "p2", "p3"], rng.randrange(0, 3)),
            rules=[{"id": r, "version": 1} for r in rng.sample(["x", "y"], rng.randrange(0, 3))],
            refused_reason=rng.choice(["", "", "", "no author"]),
            created_at=at(),
        )
    for _ in range(80):
        created = at()
        job = Job.objects.create(
            queue=rng.choice(queues),
            item_id=uuid.uuid4().hex,
            item_type_id="post",
            source=rng.choice(["REPORT", "RULE"]),
            created_at=created,
        )
        if rng.random() < 0.7:
            Decision.objects.create(
                job=job,
                queue_id=job.queue_id,
                item_id=job.item_id,
                item_type_id="post",
                reviewer=rng.choice([*reviewers, None]),
                types=["IGNORE"],
                policy_ids=rng.sample(["p1", "p2"], rng.randrange(0, 3)),
                created_at=created + timedelta(seconds=rng.randrange(1, 50_000)),
            )
        if rng.random() < 0.3:
            Skip.objects.create(
                job=job, user=rng.choice(reviewers), queue_id=job.queue_id, created_at=created
            )
    # A manual action outside a job: not a decision on a job in either backend.
    Decision.objects.create(item_id="m", item_type_id="post", source="API", types=["ACTION"])
    while fold.fold(limit=50).deltas:
        pass
    fold.sample_queue_depth()
    while sink.ship():
        pass
    assert sink.pending() == 0
    return now


def windows(now: datetime) -> list[Window]:
    return [
        Window.last(timedelta(days=7), "day", now=now),
        Window.last(timedelta(hours=48), "hour", now=now),
        Window.last(timedelta(days=2), "day", now=now).previous(),
    ]


def test_every_backend_function_exists():
    assert all(callable(getattr(clickhouse_queries, name)) for name in BACKEND_FUNCTIONS)


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("action_totals", ()),
        ("actions_over_time", ("source",)),
        ("actions_over_time", ("action",)),
        ("actions_over_time", ("policy",)),
        ("top_policies", (2,)),
        ("rule_totals", ()),
        ("rule_totals", (["x", "nobody"],)),
        ("rules_over_time", ("evaluations",)),
        ("rules_over_time", ("passes",)),
        ("rules_over_time", ("errors",)),
        ("rules_over_time", ("actions",)),
        ("jobs_created", ()),
        ("jobs_decided", ()),
        ("decisions_by_moderator", ()),
        ("decisions_by_policy", ()),
        ("skips", ()),
        ("time_to_decision", ()),
        ("queue_depth", ()),
    ],
)
def test_the_same_answer_from_both_backends(dataset, name, arguments):
    for window in windows(dataset):
        expected = getattr(rollups, name)(window, *arguments)
        assert getattr(clickhouse_queries, name)(window, *arguments) == expected, window
        if name not in ("queue_depth", "action_totals"):
            assert expected, f"{name}: the dataset should give something to compare"


def test_the_same_rule_pages_from_both_backends(dataset):
    window = windows(dataset)[1]
    for rule in ("x", "y", "nobody"):
        assert clickhouse_queries.rule_activity_series(
            rule, window
        ) == rollups.rule_activity_series(rule, window)
    assert clickhouse_queries.rule_activity(["x", "z", "nobody"]) == rollups.rule_activity(
        ["x", "z", "nobody"]
    )
    end = truncate(dataset, "hour") + timedelta(hours=1)
    start = end - timedelta(hours=72)
    history = clickhouse_queries.rule_hourly_passes("y", start, end)
    assert history == rollups.rule_hourly_passes("y", start, end)
    assert sum(e for e, _ in history) > 0


def test_clickhouse_down_the_rollups_answer(dataset, unavailable, settings, caplog):
    settings.CLICKHOUSE_URL, requests = unavailable
    window = windows(dataset)[0]
    assert clickhouse_queries.jobs_created(window) == rollups.jobs_created(window)
    assert requests
    assert "ClickHouse unavailable, jobs_created read from PostgreSQL" in caplog.text
    # The next figures do not wait for ClickHouse again...
    tried = len(requests)
    assert clickhouse_queries.rule_totals(window) == rollups.rule_totals(window)
    assert len(requests) == tried
    # ...until the pause is over.
    clickhouse_queries._unreachable_until = 0.0
    assert clickhouse_queries.skips(window) == rollups.skips(window)
    assert len(requests) > tried
