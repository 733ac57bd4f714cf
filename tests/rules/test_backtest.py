"""Backtests (rules.md): a rule over stored submissions, in steps, executing nothing."""

from __future__ import annotations

import json
import signal
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from coop.enforcement.models import ActionExecution, Delivery
from coop.rules.models import Rule, RuleExecution, RuleRun, RunKind, RunStatus
from coop.rules.run_tasks import start_run, work_rule_run
from coop.rules.runs import SAMPLE_LIMIT, RunRefused, cancel_run
from factories import user
from processes import FAST_RECOVERY, start_worker, stop, wait_until
from rules.runs_helpers import (
    WEEK,
    config,
    held_sample,
    pending_steps,
    run_steps,
    someone_waits_on_a_lock,
    step_job_status,
    store,
    wait_for_dead_sessions,
)
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


# The console pages ------------------------------------------------------------------------


@pytest.fixture
def analyst(client, rule):
    """accounts.md: an Analyst has RUN_BACKTEST but not RUN_RETROACTION."""
    client.force_login(user("analyst@example.com", "Analyst"))
    return client


def moment(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def test_an_analyst_starts_a_backtest_and_follows_it_to_its_result(analyst, rule):
    store(9)
    now = timezone.now()
    page = analyst.get(reverse("rule-backtest", args=["scam"]))
    assert page.status_code == 200
    assert b"Start backtest" in page.content
    response = analyst.post(
        reverse("rule-backtest", args=["scam"]),
        {"start": moment(now - WEEK), "end": moment(now + timedelta(minutes=1)), "size": "100"},
    )
    run = RuleRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("backtest", args=[run.pk])
    assert run.creator.email == "analyst@example.com"
    assert run.rule_version == rule.version
    waiting = analyst.get(response["Location"])
    assert b'hx-trigger="every 1s"' in waiting.content  # polls while it runs
    assert waiting.content.count(b"Cancel backtest") == 1
    run_steps()
    fragment = analyst.get(response["Location"], headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert "hx-trigger" not in html  # finished: polling stops
    assert 'value="100"' in html  # the progress bar is full
    assert "9 of 9 submissions evaluated" in html
    assert "33.33%" in html
    assert "post/post-3" in html
    assert "scam offer 3" in html  # the matched value in the condition tree
    assert "<html" not in html  # a fragment, not a page
    assert 'id="run-controls" hx-swap-oob="true"></div>' in html  # Cancel gone
    past = analyst.get(reverse("rule-backtest", args=["scam"])).content.decode()
    assert f"#{run.pk}" in past


def test_a_definition_posted_from_the_rule_form_is_checked_and_carried(analyst, rule):
    url = reverse("rule-backtest", args=["scam"])
    bad = {"name": "Scam", "itemTypes": ["post"], "condition": {"all": [{"input": "NOPE"}]}}
    page = analyst.post(url, {"definition": json.dumps(bad)})
    assert page.status_code == 200
    html = page.content.decode()
    assert "The edited rule is not valid." in html
    assert "condition" in html
    not_json = analyst.post(url, {"definition": "{oops"}).content.decode()
    assert "The rule definition is not JSON" in not_json
    good = {
        "name": "Scam",
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
    carried = analyst.post(url, {"definition": json.dumps(good)}).content.decode()
    assert "as edited" in carried
    assert not RuleRun.objects.exists()  # the user picks the window first
    now = timezone.now()
    started = analyst.post(
        url,
        {
            "start": moment(now - WEEK),
            "end": moment(now + timedelta(minutes=1)),
            "size": "10",
            "definition": json.dumps(good),
        },
    )
    assert started.status_code == 302
    run = RuleRun.objects.get()
    assert run.rule_version is None
    assert run.definition["condition"]["all"][0]["values"] == ["hello"]


def test_bad_form_input_is_refused_with_the_field_marked(analyst, rule):
    url = reverse("rule-backtest", args=["scam"])
    now = timezone.now()
    response = analyst.post(url, {"start": moment(now), "end": moment(now - WEEK), "size": "0"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The window must end after it starts." in html
    assert "greater than or equal to 1" in html
    huge = analyst.post(url, {"start": moment(now - WEEK), "end": moment(now), "size": "10000000"})
    assert huge.status_code == 400
    assert "less than or equal to 100000" in huge.content.decode()
    assert not RuleRun.objects.exists()


def test_cancel_from_the_page(analyst, rule):
    run = backtest(rule)
    response = analyst.post(reverse("backtest-cancel", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.cancel_requested
    assert b"Canceling" in analyst.get(reverse("backtest", args=[run.pk])).content
    run_steps()
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELED


def test_an_analyst_cannot_open_retroactions(analyst, rule):
    run = backtest(rule)
    assert analyst.get(reverse("rule-retroaction", args=["scam"])).status_code == 403
    assert analyst.get(reverse("retroaction", args=[run.pk])).status_code == 403
    # A backtest is not reachable under a retroaction's address either.
    analyst.force_login(user("admin@example.com", "Admin"))
    assert analyst.get(reverse("retroaction", args=[run.pk])).status_code == 404


# A worker killed mid-step -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_backtest_is_resumed_by_another_and_counts_nothing_twice():
    apply(config("DRAFT"))
    rule = Rule.objects.get(pk="scam")
    ids = store(100)  # 34 pass: 0, 3, ..., 99
    run = backtest(rule)
    env = {"COOP_BACKTEST_CHUNK": "10", "COOP_FETCH_ALLOW_PRIVATE": "1"}
    worker = None
    # Post 45 passes in the fifth chunk (40-49): the worker evaluates it, then waits to keep
    # its sample, in the middle of the step's transaction; it is killed there.
    with held_sample(run.pk, ids[45]):
        worker = start_worker(**env)
        try:
            wait_until(someone_waits_on_a_lock, 60, "the worker never reached the fifth chunk")
            run.refresh_from_db()
            assert (run.step, run.evaluated, run.passed) == (5, 40, 14)
            assert step_job_status() == "doing"
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
    wait_for_dead_sessions()
    run.refresh_from_db()
    assert (run.evaluated, run.samples.count()) == (40, 14)  # nothing of the killed step
    assert step_job_status() == "doing"  # stuck with its dead worker

    # The survivor's housekeeping retries the dead worker's step; the run goes on from there.
    survivor = start_worker(**env, **FAST_RECOVERY)
    try:
        wait_until(lambda: RuleRun.objects.get(pk=run.pk).finished, 60, "the run was not resumed")
    finally:
        stop(survivor)
    run.refresh_from_db()
    assert (run.status, run.evaluated, run.passed) == (RunStatus.COMPLETE, 100, 34)
    assert sorted(run.samples.values_list("item_id", flat=True)) == sorted(
        f"post-{i}" for i in range(0, 100, 3)
    )
    assert not ActionExecution.objects.exists()
    assert not RuleExecution.objects.exists()
