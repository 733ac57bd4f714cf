"""Backtests (rules.md): a rule over stored submissions, in steps, executing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from coop.enforcement.models import ActionExecution, Delivery
from coop.rules.models import Rule, RuleExecution, RuleRun, RunKind, RunStatus
from coop.rules.run_tasks import start_run, work_rule_run
from coop.rules.runs import SAMPLE_LIMIT, RunRefused, cancel_run
from rules.runs_helpers import WEEK, config, pending_steps, run_steps, store
from rules.test_engine import apply

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(db) -> Rule:
    apply(config("DRAFT"))
    return Rule.objects.get(pk="scam")


def backtest(rule: Rule, size: int = 1000, definition=None, **window) -> RuleRun:
    now = timezone.now()
    return start_run(
        RunKind.BACKTEST,
        rule,
        start=window.get("start", now - WEEK),
        end=window.get("end", now),
        size=size,
        user=None,
        definition=definition,
    )


@override_settings(COOP_BACKTEST_CHUNK=7)
def test_backtest_evaluates_the_window_in_steps_and_executes_nothing(rule):
    store(30)  # posts 0, 3, ..., 27 match: 10
    store(5, type_id="comment")  # another item type: not selected
    store(4, at=timezone.now() - 2 * WEEK)  # outside the window
    run = backtest(rule)
    assert run.status == RunStatus.PENDING
    assert pending_steps() == [{"run_id": run.pk, "step": 0}]
    steps = run_steps()
    run.refresh_from_db()
    assert steps == 1 + 5  # the selection, then 30 submissions by 7
    assert (run.status, run.selected, run.evaluated, run.passed) == (RunStatus.COMPLETE, 30, 30, 10)
    assert run.pass_rate == pytest.approx(1 / 3)
    assert run.percent == 100
    samples = list(run.samples.all())
    assert [s.item_id for s in samples] == [f"post-{i}" for i in range(0, 30, 3)]
    leaf = samples[0].result["children"][0]
    assert samples[0].result["outcome"] == "PASSED"
    assert leaf["outcome"] == "PASSED"
    assert leaf["matchedValue"]["value"] == "scam offer 0"
    # Executes nothing, logs nothing.
    assert not ActionExecution.objects.exists()
    assert not Delivery.objects.exists()
    assert not RuleExecution.objects.exists()


def test_the_sample_is_the_size_asked_and_capped(rule):
    store(200)
    run = backtest(rule, size=50)
    run_steps()
    run.refresh_from_db()
    assert (run.selected, run.evaluated) == (50, 50)
    assert run.threshold is not None  # a random sample, not the first 50
    ids = set(run.samples.values_list("item_id", flat=True))
    assert ids
    assert not ids <= {f"post-{i}" for i in range(50)}
    with override_settings(COOP_BACKTEST_MAX_SUBMISSIONS=20):
        capped = backtest(rule, size=100_000)
        run_steps()
    capped.refresh_from_db()
    assert (capped.requested, capped.selected, capped.evaluated) == (20, 20, 20)


def test_samples_are_bounded(rule):
    store(SAMPLE_LIMIT + 30, every=1)
    run = backtest(rule)
    run_steps()
    run.refresh_from_db()
    assert run.passed == SAMPLE_LIMIT + 30
    assert run.samples.count() == SAMPLE_LIMIT


def test_an_edited_definition_is_backtested_instead_of_the_saved_rule(rule):
    store(9)
    edited = {
        "id": "scam",
        "name": "Scam detector",
        "itemTypes": ["post"],
        "condition": {
            "all": [
                {
                    "input": {"field": "text"},
                    "signal": "TEXT_MATCHING_CONTAINS_TEXT",
                    "values": ["hello"],
                }
            ]
        },
    }
    run = backtest(rule, definition=edited)
    run_steps()
    run.refresh_from_db()
    assert run.rule_version is None
    assert run.passed == 6


@override_settings(COOP_BACKTEST_CHUNK=5)
def test_cancel_stops_between_steps_and_keeps_what_ran(rule):
    store(30)
    run = backtest(rule)
    work_rule_run(run_id=run.pk, step=0)  # the selection
    work_rule_run(run_id=run.pk, step=1)  # 5 evaluated
    cancel_run(run)
    run_steps()
    run.refresh_from_db()
    assert (run.status, run.evaluated) == (RunStatus.CANCELED, 5)
    assert run.finished_at is not None


def test_a_duplicate_step_does_nothing(rule):
    store(10)
    run = backtest(rule)
    run_steps()
    work_rule_run(run_id=run.pk, step=1)  # a retried job of a step already committed
    run.refresh_from_db()
    assert (run.evaluated, run.passed, run.samples.count()) == (10, 4, 4)


def test_an_empty_window_completes_at_once(rule):
    run = backtest(rule)
    run_steps()
    run.refresh_from_db()
    assert (run.status, run.selected, run.evaluated, run.pass_rate) == (
        RunStatus.COMPLETE,
        0,
        0,
        None,
    )


def test_a_window_that_ends_before_it_starts_is_refused(rule):
    now = timezone.now()
    with pytest.raises(RunRefused) as refused:
        backtest(rule, start=now, end=now - timedelta(hours=1))
    assert refused.value.field == "end"
    assert not RuleRun.objects.exists()
    assert not pending_steps()
