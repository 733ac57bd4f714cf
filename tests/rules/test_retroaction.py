"""Retroaction (rules.md): a LIVE rule's actions over stored submissions, through the normal
execution path, idempotent per submission, rule version and action."""

from __future__ import annotations

import json
import signal
from collections import Counter
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from coop.accounts.services import active_signing_key
from coop.config.services import save_object
from coop.core.enums import DecisionSource
from coop.enforcement.models import ActionExecution, Delivery, ExecutionSource
from coop.review.audit import DecisionFilters, recent_decisions
from coop.review.models import Job
from coop.rules.models import Rule, RuleRun, RunKind, RunStatus
from coop.rules.run_tasks import start_run, work_rule_run
from coop.rules.runs import RunRefused
from coop.rules.tasks import evaluate_submissions
from enforcement.receiver import Receiver
from factories import queue, user
from processes import FAST_RECOVERY, start_worker, stop, wait_until
from rules.runs_helpers import (
    WEEK,
    config,
    held_sample,
    pending_steps,
    run_steps,
    someone_waits_on_a_lock,
    store,
    wait_for_dead_sessions,
)
from rules.test_engine import apply

pytestmark = pytest.mark.django_db


def retroaction(rule: Rule, size: int = 1000, actor=None) -> RuleRun:
    now = timezone.now()
    return start_run(RunKind.RETROACTION, rule, start=now - WEEK, end=now, size=size, user=actor)


@pytest.fixture
def live(db) -> Rule:
    apply(config("LIVE"))
    return Rule.objects.get(pk="scam")


@override_settings(COOP_RETROACTION_CHUNK=4)
def test_retroaction_runs_the_actions_of_passing_submissions_once(live):
    manager = user("rm@example.com", "Rules Manager")
    ids = store(12)  # 0, 3, 6, 9 match
    run = retroaction(live, actor=manager)
    run_steps()
    run.refresh_from_db()
    assert (run.status, run.evaluated, run.passed) == (RunStatus.COMPLETE, 12, 4)
    assert (run.actions_executed, run.actions_repeated) == (8, 0)
    executions = ActionExecution.objects.order_by("item_id", "action_id")
    assert {e.source for e in executions} == {ExecutionSource.RETROACTION}
    assert [(e.item_id, e.action_id) for e in executions] == [
        (f"post-{i}", action) for i in (0, 3, 6, 9) for action in ("delete", "label")
    ]
    first = executions[0]
    assert first.rules == [{"id": "scam", "version": live.version, "name": "Scam detector"}]
    assert first.policy_ids == ["scams"]
    assert first.submission_id == ids[0]
    assert Delivery.objects.count() == 8  # through the webhook outbox, as a rule's own

    decisions = recent_decisions(DecisionFilters(sources=[DecisionSource.RETROACTION]))
    assert sorted(d.item_id for d in decisions) == ["post-0", "post-3", "post-6", "post-9"]
    assert {d.reviewer_email for d in decisions} == {"rm@example.com"}
    assert all(f"Retroaction #{run.pk}" in d.reason for d in decisions)

    # The same retroaction again: every (submission, version, action) was executed already.
    again = retroaction(live)
    run_steps()
    again.refresh_from_db()
    assert (again.passed, again.actions_executed, again.actions_repeated) == (4, 0, 8)
    assert ActionExecution.objects.count() == 8
    assert Delivery.objects.count() == 8


def test_what_the_rule_already_did_live_is_not_done_again(live):
    (sid,) = store(1)
    evaluate_submissions(submission_ids=[sid])  # the LIVE rule fired when it came in
    assert ActionExecution.objects.count() == 2
    run = retroaction(live)
    run_steps()
    run.refresh_from_db()
    assert (run.actions_executed, run.actions_repeated) == (0, 2)
    assert ActionExecution.objects.count() == 2


def test_only_live_rules_can_be_retroacted(db):
    apply(config("BACKGROUND"))
    rule = Rule.objects.get(pk="scam")
    with pytest.raises(RunRefused) as refused:
        retroaction(rule)
    assert "LIVE rules only" in refused.value.message
    assert not RuleRun.objects.exists()
    assert not pending_steps()


def test_an_edited_definition_cannot_be_retroacted(live):
    now = timezone.now()
    with pytest.raises(RunRefused):
        start_run(
            RunKind.RETROACTION,
            live,
            start=now - WEEK,
            end=now,
            size=10,
            user=None,
            definition={"condition": {}},
        )


@override_settings(COOP_RETROACTION_CHUNK=3)
def test_a_rule_changed_mid_run_stops_the_retroaction(live):
    store(9)
    run = retroaction(live)
    work_rule_run(run_id=run.pk, step=0)
    work_rule_run(run_id=run.pk, step=1)  # 0..2: post-0 acted on
    data = Rule.objects.get(pk="scam")
    assert save_object(
        "rules",
        {
            "id": "scam",
            "name": data.name,
            "status": "BACKGROUND",
            "itemTypes": ["post"],
            "condition": data.condition,
        },
    ).ok
    run_steps()
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELED
    assert "the rule changed" in run.error
    assert run.evaluated == 3
    assert ActionExecution.objects.count() == 2


@override_settings(COOP_RETROACTION_MAX_SUBMISSIONS=5)
def test_retroaction_is_capped(live):
    store(30, every=1)
    run = retroaction(live, size=1000)
    run_steps()
    run.refresh_from_db()
    assert (run.requested, run.evaluated, run.passed) == (5, 5, 5)
    assert ActionExecution.objects.count() == 10


def test_built_in_manual_review_runs_as_in_evaluation(db):
    text = config("LIVE").replace("actions: [delete, label]", "actions: [coop.manual-review]")
    apply(text)
    store(3)
    run = retroaction(Rule.objects.get(pk="scam"))
    run_steps()
    run.refresh_from_db()
    assert run.actions_executed == 1
    job = Job.objects.get()
    assert (job.item_id, job.source) == ("post-0", "RULE")


def test_an_action_that_can_no_longer_run_fails_the_run_and_leaves_nothing(live):
    store(3)
    run = retroaction(live)
    work_rule_run(run_id=run.pk, step=0)
    RuleRun.objects.filter(pk=run.pk).update(
        definition={**run.definition, "actions": [{"id": "gone", "parameters": {}}]}
    )
    run_steps()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "Unknown action" in run.error
    assert run.evaluated == 0
    assert not ActionExecution.objects.exists()


# The console pages ------------------------------------------------------------------------


def moment(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def manager(client):
    """accounts.md: a Rules Manager has RUN_RETROACTION."""
    client.force_login(user("rm@example.com", "Rules Manager"))
    return client


def test_retroaction_is_confirmed_with_the_count_then_runs(manager, live):
    store(12)
    url = reverse("rule-retroaction", args=["scam"])
    assert b"Count submissions" in manager.get(url).content
    now = timezone.now()
    form = {"start": moment(now - WEEK), "end": moment(now + timedelta(minutes=1)), "size": "5"}
    confirm = manager.post(url, form)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "5 submissions will be evaluated" in html
    assert "12 of post" in html  # found in the window
    assert "the most allowed 10,000" in html
    assert not RuleRun.objects.exists()  # nothing runs before the confirmation
    started = manager.post(url, {**form, "confirm": "yes"})
    run = RuleRun.objects.get()
    assert started["Location"] == reverse("retroaction", args=[run.pk])
    assert run.kind == RunKind.RETROACTION
    assert run.requested == 5
    run_steps()
    page = manager.get(started["Location"]).content.decode()
    assert "Actions executed" in page
    assert "5 of 5 submissions evaluated" in page


def test_the_server_refuses_retroaction_of_a_rule_that_is_not_live(manager):
    apply(config("DRAFT"))
    url = reverse("rule-retroaction", args=["scam"])
    assert b"LIVE rules only" in manager.get(url).content
    now = timezone.now()
    form = {"start": moment(now - WEEK), "end": moment(now), "size": "5", "confirm": "yes"}
    response = manager.post(url, form)
    assert response.status_code == 400
    assert b"LIVE rules only" in response.content
    assert not RuleRun.objects.exists()


# A worker killed mid-step -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_retroaction_is_resumed_and_no_action_runs_twice():
    with Receiver(active_signing_key().public_pem) as receiver:
        apply(config("LIVE", receiver=receiver.url))
        rule = Rule.objects.get(pk="scam")
        ids = store(30)  # 10 pass: 0, 3, ..., 27; two actions each
        run = retroaction(rule, actor=user("rm@example.com", "Rules Manager"))
        env = {"COOP_RETROACTION_CHUNK": "5", "COOP_FETCH_ALLOW_PRIVATE": "1"}
        # Post 12 passes in the third chunk (10-14): the worker executes its two actions, then
        # waits to keep its sample, inside the step's transaction; it is killed there.
        with held_sample(run.pk, ids[12]):
            worker = start_worker(**env)
            try:
                wait_until(someone_waits_on_a_lock, 60, "the worker never reached chunk 3")
                run.refresh_from_db()
                assert (run.step, run.evaluated, run.actions_executed) == (3, 10, 8)
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
            finally:
                if worker.poll() is None:
                    worker.kill()
        wait_for_dead_sessions()
        # The killed step's executions and deliveries were rolled back with it.
        assert ActionExecution.objects.count() == 8
        assert not ActionExecution.objects.filter(item_id="post-12").exists()

        survivor = start_worker(**env, **FAST_RECOVERY)
        try:
            wait_until(
                lambda: RuleRun.objects.get(pk=run.pk).finished, 60, "the run was not resumed"
            )
            wait_until(lambda: len(receiver.requests) >= 20, 60, "webhooks were not all sent")
        finally:
            stop(survivor)
    run.refresh_from_db()
    assert (run.status, run.evaluated, run.passed) == (RunStatus.COMPLETE, 30, 10)
    assert (run.actions_executed, run.actions_repeated) == (20, 0)
    executed = list(ActionExecution.objects.values_list("item_id", "action_id"))
    assert len(executed) == len(set(executed)) == 20
    # Every action reached the platform once: one delivery per (action, item).
    sent = Counter((r.path, json.loads(r.body)["item"]["id"]) for r in receiver.requests)
    assert sorted(sent) == sorted(
        (f"/{action}", f"post-{i}") for i in range(0, 30, 3) for action in ("delete", "label")
    )
    assert set(sent.values()) == {1}
    assert all(r.signature_valid for r in receiver.requests)
    decisions = recent_decisions(DecisionFilters(sources=[DecisionSource.RETROACTION]))
    assert sorted(d.item_id for d in decisions) == sorted(f"post-{i}" for i in range(0, 30, 3))


def test_built_in_ncmec_runs_as_in_evaluation_and_a_refusal_is_counted(db):
    apply(config("LIVE").replace("actions: [delete, label]", "actions: [coop.ncmec]"))
    store(3)  # post-0 passes; its author is u-0
    refused = retroaction(Rule.objects.get(pk="scam"))
    run_steps()
    refused.refresh_from_db()
    assert (refused.actions_executed, refused.actions_refused) == (1, 1)
    assert "No NCMEC queue is set" in ActionExecution.objects.get().refused_reason

    ActionExecution.objects.all().delete()
    queue("ncmec")
    assert save_object("ncmec", {"defaultQueue": "ncmec"}).ok
    run = retroaction(Rule.objects.get(pk="scam"))
    run_steps()
    run.refresh_from_db()
    assert (run.actions_executed, run.actions_refused) == (1, 0)
    job = Job.objects.get(kind="NCMEC")
    assert (job.item_id, job.item_type_id, job.queue_id) == ("u-0", "user", "ncmec")


def test_a_rule_changed_after_the_count_is_confirmed_again(manager, live):
    store(3)
    url = reverse("rule-retroaction", args=["scam"])
    now = timezone.now()
    form = {"start": moment(now - WEEK), "end": moment(now), "size": "5", "confirm": "yes"}
    stale = manager.post(url, {**form, "version": str(live.version - 1)})
    assert stale.status_code == 200
    assert b"The rule changed since you counted" in stale.content
    assert not RuleRun.objects.exists()
    assert manager.post(url, {**form, "version": str(live.version)}).status_code == 302
    assert RuleRun.objects.get().rule_version == live.version
