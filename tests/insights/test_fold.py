"""The rollups equal brute-force counts of the raw events, whatever the commit order, and a
fold that dies half-way leaves nothing half-written."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection, transaction
from tests.insights import events

import factories
from coop.insights import fold, histogram
from coop.insights.fold import FOLD_SQL
from coop.insights.models import (
    ActionHour,
    ActionPolicyHour,
    DecisionHour,
    DecisionPolicyHour,
    DecisionTimeHour,
    Delta,
    JobHour,
    QueueDepth,
    RuleActionHour,
    RuleHour,
    SkipHour,
)
from coop.rules.models import RuleExecution

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def rule_rollup() -> dict:
    return {
        (r.hour, r.rule_id, r.environment): (r.evaluations, r.passes, r.errors)
        for r in RuleHour.objects.all()
    }


@pytest.mark.django_db
def test_rule_executions_fold_into_hourly_counts():
    rng = random.Random(7)
    rows = [
        (
            rng.choice(["r1", "r2", "r3"]),
            rng.choice(["LIVE", "BACKGROUND"]),
            rng.choice(["PASSED", "FAILED", "ERRORED", "INAPPLICABLE"]),
            T0 + timedelta(minutes=rng.randrange(0, 600)),
        )
        for _ in range(500)
    ]
    # Several statements, as the engine writes one COPY per batch.
    for start in range(0, len(rows), 120):
        events.rule_executions(rows[start : start + 120])
    assert Delta.objects.count() < len(rows)  # grouped per statement

    result = fold.fold(limit=7)  # many small batches
    assert result.events == 500
    assert Delta.objects.count() == 0

    expected: dict = {}
    for rule, env, outcome, at in rows:
        n, p, e = expected.get((hour(at), rule, env), (0, 0, 0))
        expected[(hour(at), rule, env)] = (
            n + 1,
            p + (outcome == "PASSED"),
            e + (outcome == "ERRORED"),
        )
    assert rule_rollup() == expected


@pytest.mark.django_db
def test_actions_jobs_decisions_and_skips_fold():
    reviewer = factories.user("mod@example.com")
    q = factories.queue("q1")
    events.action_execution("ban", "RULE", T0, policies=["spam", "abuse"], rules=["r1", "r2"])
    events.action_execution("ban", "RULE", T0 + timedelta(minutes=5), rules=["r1"])
    events.action_execution("ban", "REVIEW", T0 + timedelta(hours=1), policies=["spam"])
    events.action_execution(
        "warn", "RULE", T0, policies=["spam"], rules=["r1"], refused="no author"
    )
    job = events.job(q, T0)
    events.job(q, T0 + timedelta(minutes=1), source="RULE")
    events.decision(job, T0 + timedelta(seconds=90), reviewer=reviewer, policies=["spam"])
    events.skip(job, T0 + timedelta(seconds=30), user=reviewer)
    fold.fold()

    h0, h1 = T0, T0 + timedelta(hours=1)
    assert {
        (a.hour, a.action_id, a.source): (a.executed, a.refused) for a in ActionHour.objects.all()
    } == {
        (h0, "ban", "RULE"): (2, 0),
        (h1, "ban", "REVIEW"): (1, 0),
        (h0, "warn", "RULE"): (0, 1),
    }
    assert {
        (a.hour, a.policy_id, a.action_id, a.source): a.executed
        for a in ActionPolicyHour.objects.all()
    } == {
        (h0, "spam", "ban", "RULE"): 1,
        (h0, "abuse", "ban", "RULE"): 1,
        (h0, "", "ban", "RULE"): 1,
        (h1, "spam", "ban", "REVIEW"): 1,
    }
    assert {(r.rule_id, r.actions) for r in RuleActionHour.objects.all()} == {("r1", 2), ("r2", 1)}
    assert {(j.queue_id, j.source, j.created) for j in JobHour.objects.all()} == {
        ("q1", "REPORT", 1),
        ("q1", "RULE", 1),
    }
    assert [(d.queue_id, d.reviewer_id, d.decided) for d in DecisionHour.objects.all()] == [
        ("q1", str(reviewer.pk), 1)
    ]
    assert [(d.policy_id, d.decided) for d in DecisionPolicyHour.objects.all()] == [("spam", 1)]
    assert [(d.bucket, d.decided) for d in DecisionTimeHour.objects.all()] == [
        (histogram.bucket_of(90), 1)
    ]
    assert [(s.queue_id, s.skips) for s in SkipHour.objects.all()] == [("q1", 1)]


@pytest.mark.django_db
def test_an_insert_skipped_by_on_conflict_counts_nothing():
    events.action_execution("ban", "RULE", T0)
    from coop.enforcement.models import ActionExecution

    def execution(**fields) -> ActionExecution:
        return ActionExecution(
            action_id="ban", item_id="x", item_type_id="post", source="RULE", created_at=T0,
            **fields,
        )  # fmt: skip

    first = execution()
    ActionExecution.objects.bulk_create([first], ignore_conflicts=True)
    ActionExecution.objects.bulk_create([execution(id=first.id)], ignore_conflicts=True)
    fold.fold()
    assert ActionHour.objects.get().executed == 2


@pytest.mark.django_db
def test_sql_and_python_agree_on_histogram_buckets():
    seconds = [0, 0.5, 1.01, 1.5, 3, 59.9, 61, 3599, 86_401, 10**9]
    with connection.cursor() as cursor:
        for s in seconds:
            cursor.execute("SELECT insights_time_bucket(%s)", [s])
            assert cursor.fetchone()[0] == histogram.bucket_of(s), s


def test_quantiles_from_the_histogram_are_within_a_bucket():
    rng = random.Random(3)
    values = sorted(rng.lognormvariate(5, 1.5) for _ in range(5000))
    counts = Counter(histogram.bucket_of(v) for v in values)
    for q in (0.5, 0.9):
        exact = values[int(q * len(values))]
        assert abs(histogram.quantile(counts, q) / exact - 1) < 0.19
    assert histogram.quantile({}, 0.5) is None


def dsn() -> str:
    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"], host=s["HOST"], port=s["PORT"]
    )


@pytest.mark.django_db(transaction=True)
def test_out_of_order_commits_are_all_counted_once():
    """A transaction that inserted earlier (smaller ids) but commits later is folded later:
    nothing is skipped by a watermark and nothing is counted twice."""
    slow = psycopg.connect(dsn())
    slow.execute(
        "INSERT INTO rules_ruleexecution (rule_id, rule_version, environment, submission_id,"
        " item_id, item_type_id, outcome, over_limit, result, duration_us, created_at)"
        " SELECT 'r1', 1, 'LIVE', g, 'i', 'post', 'PASSED', false, '{}', 1, %s"
        " FROM generate_series(1, 30) g",
        [T0],
    )  # not committed yet
    events.rule_executions([("r1", "LIVE", "FAILED", T0)] * 5)  # committed (autocommit)
    fold.fold()
    assert rule_rollup() == {(T0, "r1", "LIVE"): (5, 0, 0)}
    slow.commit()
    slow.close()
    fold.fold()
    assert rule_rollup() == {(T0, "r1", "LIVE"): (35, 30, 0)}
    fold.fold()
    assert rule_rollup() == {(T0, "r1", "LIVE"): (35, 30, 0)}
    assert RuleExecution.objects.count() == 35


@pytest.mark.django_db(transaction=True)
def test_a_fold_that_dies_half_way_changes_nothing():
    events.rule_executions([("r1", "LIVE", "PASSED", T0)] * 3)
    fold.fold()
    events.rule_executions([("r1", "LIVE", "PASSED", T0)] * 4)
    dying = psycopg.connect(dsn())
    dying.execute(FOLD_SQL, [1000])  # deleted the deltas and added them, uncommitted
    with connection.cursor() as cursor:  # the process dies: the server ends its session
        cursor.execute("SELECT pg_terminate_backend(%s, 10000)", [dying.info.backend_pid])
        assert cursor.fetchone()[0]  # waited until the session was gone (its locks released)
    assert rule_rollup() == {(T0, "r1", "LIVE"): (3, 3, 0)}
    assert Delta.objects.count() == 1
    fold.fold()
    assert rule_rollup() == {(T0, "r1", "LIVE"): (7, 7, 0)}


@pytest.mark.django_db(transaction=True)
def test_one_folder_at_a_time():
    events.rule_executions([("r1", "LIVE", "PASSED", T0)])
    holder = threading.Event()
    release = threading.Event()

    def hold_lock():
        with psycopg.connect(dsn()) as other, other.transaction():
            other.execute("SELECT pg_advisory_xact_lock(%s)", [fold.FOLD_LOCK])
            holder.set()
            release.wait(10)

    thread = threading.Thread(target=hold_lock)
    thread.start()
    holder.wait(10)
    try:
        assert fold.fold_batch() is None
    finally:
        release.set()
        thread.join()
    assert fold.fold_batch().events == 1


@pytest.mark.django_db
def test_queue_depth_keeps_the_hours_last_sample():
    q = factories.queue("q1")
    events.job(q, T0)
    fold.sample_queue_depth()
    events.job(q, T0)
    fold.sample_queue_depth()
    with transaction.atomic():
        depth = QueueDepth.objects.get(queue_id="q1", child_safety=False)
    assert depth.pending == 2
