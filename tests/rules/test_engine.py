"""Proactive rules in the worker, routing rules and synchronous content: real database."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from coop.catalog.models import Bank, ConfigChange
from coop.config import apply_document, parse_text
from coop.config.services import save_object
from coop.enforcement.models import ActionExecution, Delivery
from coop.ingest.models import ItemSubmission
from coop.review.models import Job, JobSource
from coop.rules.models import RoutingDecision, RuleExecution
from coop.rules.tasks import evaluate_now, evaluate_submissions

CONFIG = """
itemTypes:
  - id: user
    name: User
    kind: USER
    fields: [{name: username, type: STRING}]
  - id: post
    name: Post
    kind: CONTENT
    fields:
      - {name: text, type: STRING, required: true}
      - {name: tags, type: ARRAY, items: STRING}
      - {name: author, type: RELATED_ITEM}
    roles: {creatorId: author}
policies:
  - {id: spam, name: Spam, penalty: MEDIUM}
  - {id: scams, name: Scams, penalty: HIGH}
actions:
  - {id: delete, name: Delete, callbackUrl: "http://127.0.0.1:9/delete", itemTypes: [post]}
  - {id: label, name: Label, callbackUrl: "http://127.0.0.1:9/label"}
banks:
  - {id: scam-words, name: Scam words, kind: TEXT, values: ["free money", "crypto giveaway"]}
queues:
  - {id: spam-queue, name: Spam}
  - {id: appeal-spam, name: Spam appeals, appeals: true}
rules:
  - id: scam-live
    name: Scam detector
    status: LIVE
    itemTypes: [post]
    policies: [scams]
    actions: [delete, label]
    condition:
      any:
        - {input: {field: text}, signal: TEXT_MATCHING_CONTAINS_VARIANT, banks: [scam-words]}
  - id: spam-tags
    name: Spam tags
    status: LIVE
    itemTypes: [post]
    policies: [spam]
    actions: [label]
    condition: {all: [{input: {field: tags}, signal: TEXT_MATCHING_CONTAINS_TEXT, values: [spam]}]}
  - id: watch
    name: Watch only
    status: BACKGROUND
    itemTypes: [post]
    actions: [delete]
    condition: {all: [{input: ALL_TEXT, signal: TEXT_MATCHING_CONTAINS_TEXT, values: [money]}]}
routingRules:
  - id: spam-reports
    name: Spam reports
    itemTypes: [post]
    queue: spam-queue
    condition: {all: [{input: RELEVANT_POLICY, comparator: EQUALS, threshold: spam}]}
appealRoutingRules:
  - id: spam-appeals
    name: Spam appeals
    itemTypes: [post]
    queue: appeal-spam
    condition: {all: [{input: RELEVANT_POLICY, comparator: EQUALS, threshold: spam}]}
"""


def apply(text: str) -> None:
    document, errors = parse_text(text)
    assert not errors, errors
    plan = apply_document(document)
    assert not plan.errors, plan.errors


@pytest.fixture
def configured(db):
    apply(CONFIG)


def submit(api, *items) -> list[int]:
    body = {"items": [{"id": i, "typeId": "post", "data": data} for i, data in items]}
    response = api.post("/api/v1/items/async/", body)
    assert response.status_code == 202, response.content
    return response.json()["submissionIds"]


AUTHOR = {"id": "u-1", "typeId": "user"}


def test_live_rule_fires_its_actions_and_every_rule_is_logged(configured, api):
    (sid,) = submit(api, ("p1", {"text": "Get FR33 m0ney now", "author": AUTHOR}))
    evaluate_submissions(submission_ids=[sid])

    logged = {e.rule_id: e for e in RuleExecution.objects.filter(submission_id=sid)}
    assert set(logged) == {"scam-live", "spam-tags", "watch"}
    scam = logged["scam-live"]
    assert (scam.outcome, scam.environment, scam.rule_version) == ("PASSED", "LIVE", 1)
    leaf = scam.result["children"][0]
    assert leaf["outcome"] == "PASSED"
    assert leaf["matchedValue"]["entry"] == "free money"
    assert logged["spam-tags"].outcome == "INAPPLICABLE" or logged["spam-tags"].outcome == "FAILED"
    assert logged["watch"].environment == "BACKGROUND"

    executions = ActionExecution.objects.filter(submission_id=sid).order_by("action_id")
    assert [e.action_id for e in executions] == ["delete", "label"]
    assert executions[0].rules == [{"id": "scam-live", "version": 1, "name": "Scam detector"}]
    assert executions[0].policy_ids == ["scams"]
    assert Delivery.objects.filter(execution__in=executions).count() == 2
    assert ItemSubmission.objects.get(pk=sid).evaluated_at is not None


def test_background_rule_is_logged_but_never_acts(configured, api):
    (sid,) = submit(api, ("p2", {"text": "money talks", "author": AUTHOR}))
    evaluate_submissions(submission_ids=[sid])
    assert RuleExecution.objects.get(submission_id=sid, rule_id="watch").outcome == "PASSED"
    assert not ActionExecution.objects.filter(submission_id=sid).exists()


def test_actions_are_deduplicated_with_all_firing_rules_and_their_policies(configured, api):
    (sid,) = submit(api, ("p3", {"text": "free money", "tags": ["spam"], "author": AUTHOR}))
    evaluate_submissions(submission_ids=[sid])
    label = ActionExecution.objects.get(submission_id=sid, action_id="label")
    assert {r["id"] for r in label.rules} == {"scam-live", "spam-tags"}
    assert set(label.policy_ids) == {"scams", "spam"}
    delete = ActionExecution.objects.get(submission_id=sid, action_id="delete")
    assert delete.policy_ids == ["scams"]


def test_a_rerun_after_a_crash_executes_nothing_twice(configured, api):
    (sid,) = submit(api, ("p4", {"text": "free money", "author": AUTHOR}))
    evaluate_submissions(submission_ids=[sid])
    # As if the worker died after committing but before the task was marked done.
    ItemSubmission.objects.filter(pk=sid).update(evaluated_at=None)
    evaluate_submissions(submission_ids=[sid])
    assert ActionExecution.objects.filter(submission_id=sid).count() == 2
    assert Delivery.objects.filter(execution__submission_id=sid).count() == 2


def test_expired_rules_are_not_evaluated(configured, api):
    result = save_object(
        "rules",
        {
            "id": "scam-live",
            "name": "Scam detector",
            "status": "LIVE",
            "itemTypes": ["post"],
            "policies": ["scams"],
            "actions": ["delete"],
            "expiresAt": (timezone.now() - timedelta(minutes=1)).isoformat(),
            "condition": {
                "any": [
                    {
                        "input": {"field": "text"},
                        "signal": "TEXT_MATCHING_CONTAINS_VARIANT",
                        "banks": ["scam-words"],
                    }
                ]
            },
        },
    )
    assert result.ok, result.errors
    (sid,) = submit(api, ("p5", {"text": "free money", "author": AUTHOR}))
    evaluate_submissions(submission_ids=[sid])
    assert not RuleExecution.objects.filter(submission_id=sid, rule_id="scam-live").exists()
    assert not ActionExecution.objects.filter(submission_id=sid, action_id="delete").exists()


def test_a_rule_change_applies_to_the_next_item(configured, api):
    (first,) = submit(api, ("p6", {"text": "totally legit", "author": AUTHOR}))
    evaluate_submissions(submission_ids=[first])
    assert not ActionExecution.objects.filter(submission_id=first).exists()
    apply('banks:\n  - {id: scam-words, name: Scam words, kind: TEXT, values: ["totally legit"]}\n')
    (second,) = submit(api, ("p7", {"text": "totally legit", "author": AUTHOR}))
    evaluate_submissions(submission_ids=[second])
    assert ActionExecution.objects.filter(submission_id=second, action_id="delete").exists()


def test_a_rule_whose_bank_vanished_is_errored_with_the_reason(configured, api):
    # Saving refuses this; a configuration changed under a running rule must not crash it.
    Bank.objects.filter(pk="scam-words").delete()
    ConfigChange.objects.create(
        kind="banks", object_id="scam-words", version=2, operation="DELETE", data=None
    )
    (sid,) = submit(api, ("p8", {"text": "free money", "author": AUTHOR}))
    evaluate_submissions(submission_ids=[sid])
    execution = RuleExecution.objects.get(submission_id=sid, rule_id="scam-live")
    assert execution.outcome == "ERRORED"
    assert "scam-words" in execution.result["error"]
    assert not ActionExecution.objects.filter(submission_id=sid, action_id="delete").exists()


def test_daily_limit_stops_firing_and_is_logged_as_over_limit(configured, api):
    apply(
        CONFIG.replace("    policies: [scams]\n", "    policies: [scams]\n    maxDailyActions: 2\n")
    )
    ids = submit(api, *[(f"q{i}", {"text": "free money", "author": AUTHOR}) for i in range(3)])
    evaluate_submissions(submission_ids=ids)
    logged = RuleExecution.objects.filter(rule_id="scam-live").order_by("submission_id")
    assert [e.over_limit for e in logged] == [False, False, True]
    assert [e.outcome for e in logged] == ["PASSED"] * 3
    assert ActionExecution.objects.filter(action_id="delete").count() == 2


@pytest.mark.django_db(transaction=True)
def test_daily_limit_is_exact_under_concurrent_workers(api):
    apply(
        CONFIG.replace("    policies: [scams]\n", "    policies: [scams]\n    maxDailyActions: 5\n")
    )
    ids = submit(api, *[(f"c{i}", {"text": "free money", "author": AUTHOR}) for i in range(16)])
    barrier = threading.Barrier(8)

    def worker(chunk):
        barrier.wait()
        try:
            evaluate_now(chunk, "LIVE")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(ids[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ActionExecution.objects.filter(action_id="delete").count() == 5
    assert RuleExecution.objects.filter(rule_id="scam-live", over_limit=True).count() == 11


def test_manual_review_action_creates_a_routed_job(configured, api):
    apply(CONFIG.replace("    actions: [delete, label]\n", "    actions: [coop.manual-review]\n"))
    (sid,) = submit(api, ("p9", {"text": "free money", "author": AUTHOR}))
    evaluate_submissions(submission_ids=[sid])
    job = Job.objects.get(item_id="p9")
    assert (job.source, job.queue_id, job.policy_ids) == (JobSource.RULE, "default", ["scams"])
    decision = RoutingDecision.objects.get(job_id=job.pk)
    assert decision.routing_rule_id == ""  # no routing rule matched: the default queue
    assert decision.evaluations[0]["rule"] == "spam-reports"


def test_reports_follow_routing_rules_and_the_decision_is_logged(configured, api):
    report = {
        "reporter": {"kind": "user", "typeId": "user", "id": "u-9"},
        "reportedAt": "2026-11-21T10:00:00Z",
        "reportedForReason": {"policyId": "spam", "reason": "ads"},
        "reportedItem": {"id": "p10", "typeId": "post", "data": {"text": "buy now"}},
    }
    assert api.post("/api/v1/report", report).status_code == 201
    job = Job.objects.get(item_id="p10")
    assert job.queue_id == "spam-queue"
    decision = RoutingDecision.objects.get(job_id=job.pk)
    assert (decision.routing_rule_id, decision.source) == ("spam-reports", "REPORT")

    report["reportedForReason"]["policyId"] = "scams"
    report["reportedItem"]["id"] = "p11"
    assert api.post("/api/v1/report", report).status_code == 201
    assert Job.objects.get(item_id="p11").queue_id == "default"


def test_appeals_follow_appeal_routing_rules(configured, api):
    appeal = {
        "appealId": "a-1",
        "appealedBy": {"typeId": "user", "id": "u-1"},
        "appealedAt": "2026-11-21T12:00:00Z",
        "actionedItem": {"id": "p12", "typeId": "post", "data": {"text": "hello"}},
        "actionsTaken": ["delete"],
        "violatingPolicies": [{"id": "spam"}],
    }
    assert api.post("/api/v1/report/appeal", appeal).status_code == 204
    job = Job.objects.get(item_id="p12")
    assert (job.queue_id, job.kind) == ("appeal-spam", "APPEAL")
    assert RoutingDecision.objects.get(job_id=job.pk).kind == "APPEAL"


@pytest.mark.django_db(transaction=True)
def test_sync_content_answers_with_the_triggered_actions(api):
    apply(CONFIG)
    body = {
        "contentType": "post",
        "contentId": "s1",
        "content": {"text": "crypto giveaway!!", "author": AUTHOR},
        "sync": True,
    }
    response = api.post("/api/v1/content/", body)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "actionsTriggered": [{"id": "delete", "name": "Delete"}, {"id": "label", "name": "Label"}]
    }
    assert ItemSubmission.objects.get(item_id="s1").evaluated_at is not None


@pytest.mark.django_db(transaction=True)
def test_sync_content_past_its_budget_is_503_and_evaluation_still_completes(api):
    apply(CONFIG)
    body = {
        "contentType": "post",
        "contentId": "s2",
        "content": {"text": "free money", "author": AUTHOR},
        "sync": True,
    }
    with override_settings(COOP_SYNC_BUDGET_MS=0):
        response = api.post("/api/v1/content/", body)
    assert response.status_code == 503
    assert response.json()["errors"][0]["type"] == ["/errors/service-unavailable"]
    submission = ItemSubmission.objects.get(item_id="s2")
    # The request's own evaluation goes on after the 503 and completes the item, once.
    deadline = time.monotonic() + 30
    while ItemSubmission.objects.get(pk=submission.pk).evaluated_at is None:
        assert time.monotonic() < deadline, "the evaluation never completed"
        time.sleep(0.05)
    # Its thread closes its database connection once done: wait for that before going on.
    while _other_connections():
        assert time.monotonic() < deadline, "the evaluation thread kept its connection"
        time.sleep(0.05)
    evaluate_now([submission.pk], "LIVE")  # the worker's delayed task finds nothing left to do
    assert ActionExecution.objects.filter(submission_id=submission.pk).count() == 2


def _other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]
