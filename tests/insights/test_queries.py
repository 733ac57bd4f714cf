"""The query functions against brute-force counts of the raw events."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count
from django.db.models.functions import TruncDay
from tests.insights import events

import factories
from coop.enforcement.models import ActionExecution
from coop.insights import fold, queries
from coop.insights.queries import Window
from coop.review.models import Decision, Job, Skip
from coop.rules.models import RuleExecution

START = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def dataset(db):
    rng = random.Random(11)
    queues = [factories.queue("qa"), factories.queue("qb")]
    reviewers = [factories.user("a@example.com"), factories.user("b@example.com")]

    def at():
        return START + timedelta(minutes=rng.randrange(0, 60 * 24 * 6))

    events.rule_executions(
        [
            (rng.choice("xyz"), "LIVE", rng.choice(["PASSED", "FAILED", "ERRORED"]), at())
            for _ in range(400)
        ]
    )
    for _ in range(120):
        events.action_execution(
            rng.choice(["ban", "warn"]),
            rng.choice(["RULE", "REVIEW", "BULK", "API"]),
            at(),
            policies=rng.sample(["p1", "p2", "p3"], rng.randrange(0, 3)),
            rules=rng.sample(["x", "y"], rng.randrange(0, 3)),
            refused=rng.choice(["", "", "", "no author"]),
        )
    for _ in range(60):
        created = at()
        job = events.job(rng.choice(queues), created)
        if rng.random() < 0.7:
            events.decision(
                job,
                created + timedelta(seconds=rng.randrange(1, 50_000)),
                reviewer=rng.choice([*reviewers, None]),
                policies=rng.sample(["p1", "p2"], rng.randrange(0, 2)),
            )
        if rng.random() < 0.3:
            events.skip(job, created, user=rng.choice(reviewers))
    while fold.fold(limit=13).deltas:  # one run is bounded (50 batches); run until empty
        pass


def day_counts(queryset, key) -> dict:
    rows = (
        queryset.annotate(day=TruncDay("created_at", tzinfo=UTC))
        .values("day", key)
        .annotate(n=Count("pk"))
    )
    return {(r["day"], r[key] if r[key] is not None else ""): r["n"] for r in rows}


def as_dict(window, series) -> dict:
    return {
        (b, s.key): v for s in series for b, v in zip(window.buckets(), s.values, strict=True) if v
    }


WINDOW = Window(START - timedelta(days=1), START + timedelta(days=8), "day")


def test_rules_over_time_matches_the_raw_rows(dataset):
    expected = day_counts(RuleExecution.objects.filter(outcome="PASSED"), "rule_id")
    assert as_dict(WINDOW, queries.rules_over_time(WINDOW, "passes")) == expected
    totals = {t.rule_id: (t.evaluations, t.passes, t.errors) for t in queries.rule_totals(WINDOW)}
    for rule in "xyz":
        rows = RuleExecution.objects.filter(rule_id=rule)
        assert totals[rule] == (
            rows.count(),
            rows.filter(outcome="PASSED").count(),
            rows.filter(outcome="ERRORED").count(),
        )


def test_actions_match_the_raw_rows(dataset):
    executed = ActionExecution.objects.filter(refused_reason="")
    assert as_dict(WINDOW, queries.actions_over_time(WINDOW, "source")) == day_counts(
        executed, "source"
    )
    totals = queries.action_totals(WINDOW)
    assert totals.executed == executed.count()
    assert totals.refused == ActionExecution.objects.exclude(refused_reason="").count()
    by_policy = {k.key: k.count for k in queries.top_policies(WINDOW)}
    assert by_policy == {
        p: executed.filter(policy_ids__contains=[p]).count()
        for p in ("p1", "p2", "p3")
        if executed.filter(policy_ids__contains=[p]).exists()
    }
    per_rule = {t.rule_id: t.actions for t in queries.rule_totals(WINDOW)}
    for rule in ("x", "y"):
        assert per_rule.get(rule, 0) == sum(
            1 for e in executed if any(r["id"] == rule for r in e.rules)
        )


def test_review_figures_match_the_raw_rows(dataset):
    on_jobs = Decision.objects.filter(job__isnull=False)
    assert as_dict(WINDOW, queries.jobs_created(WINDOW)) == day_counts(
        Job.objects.all(), "queue_id"
    )
    assert as_dict(WINDOW, queries.jobs_decided(WINDOW)) == day_counts(on_jobs, "queue_id")
    assert as_dict(WINDOW, queries.skips(WINDOW)) == day_counts(Skip.objects.all(), "queue_id")
    moderators = {(b, k): v for (b, k), v in day_counts(on_jobs, "reviewer_id").items()}
    assert as_dict(WINDOW, queries.decisions_by_moderator(WINDOW)) == {
        (b, str(k) if k != "" else ""): v for (b, k), v in moderators.items()
    }
    times = {t.queue_id: t for t in queries.time_to_decision(WINDOW)}
    for queue in ("qa", "qb"):
        seconds = sorted(
            (d.created_at - d.job.created_at).total_seconds()
            for d in on_jobs.filter(queue_id=queue)
        )
        assert times[queue].decided == len(seconds)
        median = seconds[len(seconds) // 2]
        assert (
            abs(times[queue].median_seconds / median - 1) < 0.45
        )  # within a couple of buckets on a small sample


def test_hourly_windows_and_the_previous_window(dataset):
    window = Window(START, START + timedelta(days=2), "hour")
    passes = RuleExecution.objects.filter(
        outcome="PASSED", created_at__gte=window.start, created_at__lt=window.end
    )
    assert sum(s.total for s in queries.rules_over_time(window, "passes")) == passes.count()
    assert window.previous() == Window(START - timedelta(days=2), START, "hour")
    assert len(window.buckets()) == 48


def test_rule_activity_has_every_rule_requested(db):
    activity = queries.rule_activity(["never-ran"], days=14)
    assert activity == {"never-ran": (0,) * 14}


def test_windows_refuse_bad_bounds():
    with pytest.raises(ValueError, match="aligned"):
        Window(START + timedelta(minutes=5), START + timedelta(hours=2))
    with pytest.raises(ValueError, match="at most"):
        Window(START - timedelta(days=400), START, "hour")
    with pytest.raises(ValueError, match="hour or day"):
        Window(START, START + timedelta(days=1), "week")
