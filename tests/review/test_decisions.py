"""decide(): server-side checks, what one decision commits, and the webhooks it queues."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from coop.config.services import save_object
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution, Delivery, StrikeRecord
from coop.review.claims import claim_next
from coop.review.decisions import ActionChoice, DecisionInput, decide
from coop.review.errors import AlreadyDecidedError, DecisionRefusedError
from coop.review.invalidation import invalidate_reporter
from coop.review.models import (
    Appeal,
    ClearDisposition,
    ClearScope,
    Decision,
    Job,
    JobSource,
    JobStatus,
    Report,
)
from coop.review.services import default_appeals_queue, enqueue_for_review
from factories import PLATFORM, post, queue, report, rule_job, set_appeals, set_review

pytestmark = pytest.mark.django_db

DELETE = ActionChoice("delete", ["spam"])


def body(delivery: Delivery) -> dict:
    raw = bytes(delivery.body)
    assert (
        raw
        == json.dumps(
            json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    )
    return json.loads(raw)


def snapshot() -> tuple:
    return (
        list(Job.objects.order_by("pk").values_list("pk", "status", "queue_id", "lease_owner")),
        Decision.objects.count(),
        ActionExecution.objects.count(),
        Delivery.objects.count(),
        StrikeRecord.objects.count(),
        Job.objects.filter(kind="NCMEC").count(),
    )


@pytest.fixture
def setup(catalog, people):
    """Queue `q` worked by mod and mod2; a reported post claimed by mod."""
    q = queue(reviewers=[people["mod"], people["mod2"]])
    item = post("p-1")
    report(item, q, reporter="r-1", reason="spammy", policy="spam", ago=60)
    job = report(item, q, reporter="r-2", reason="ads everywhere")
    assert claim_next(q, people["mod"]).pk == job.pk
    return q, job


# Refusals -------------------------------------------------------------------------------


def refused(job, user, decision, field=None, match=""):
    before = snapshot()
    with pytest.raises(DecisionRefusedError) as info:
        decide(job.pk, user, decision)
    assert info.value.field == field
    assert match in info.value.message
    assert snapshot() == before, "a refused decision changed something"
    return info.value


def test_only_the_lease_holder_decides(setup, people):
    _q, job = setup
    refused(job, people["mod2"], DecisionInput(ignore=True), match="claimed")
    # A manager may decide a job someone else holds.
    decide(job.pk, people["manager"], DecisionInput(ignore=True))


def test_the_reviewer_must_be_allowed_in_the_queue(setup, people):
    _, job = setup
    Job.objects.filter(pk=job.pk).update(lease_owner=people["external"])
    refused(job, people["external"], DecisionInput(ignore=True), match="not allowed")
    refused(job, people["analyst"], DecisionInput(ignore=True), match="not allowed")


def test_hidden_unknown_and_inapplicable_actions_are_refused(setup, people):
    q, job = setup
    mod = people["mod"]
    q.hidden_actions = ["delete"]
    q.save()
    refused(job, mod, DecisionInput([DELETE]), "actions", "not offered")
    refused(job, mod, DecisionInput([ActionChoice("nope")]), "actions", "No action")
    refused(job, mod, DecisionInput([ActionChoice("ban")]), "actions", "does not apply")
    refused(job, mod, DecisionInput([ActionChoice("label", ["nope"])]), "actions", "policy")
    # A related action on the author is checked against the author's type.
    ban_author = ActionChoice("ban", item=ItemRef("u-1", "user"), parameters={"x": 1})
    refused(job, mod, DecisionInput([ban_author]), "actions", "Unknown parameter")


def test_required_policy_and_reasons(setup, people):
    _, job = setup
    mod = people["mod"]
    set_review(requirePolicyForDecisions=True, requireReasonOnAction=True)
    refused(job, mod, DecisionInput([ActionChoice("delete")]), "actions", "policy")
    refused(job, mod, DecisionInput([DELETE], reason="  "), "reason", "reason")
    decide(job.pk, mod, DecisionInput(ignore=True))  # ignores need no reason here
    set_review(requireReasonOnIgnore=True)
    other = rule_job(post("p-2"), job.queue)
    refused(other, people["manager"], DecisionInput(ignore=True), "reason")
    decide(other.pk, people["manager"], DecisionInput(ignore=True, reason="fine"))


def test_composition_rules(setup, people):
    _, job = setup
    mod = people["mod"]
    refused(job, mod, DecisionInput(), None, "Choose")
    refused(job, mod, DecisionInput([DELETE], ignore=True), "ignore")
    refused(job, mod, DecisionInput(appeal="ACCEPT"), "appeal", "Only appeal jobs")
    refused(job, mod, DecisionInput(move_to_queue="nope"), "move_to_queue", "No queue")
    refused(job, mod, DecisionInput(move_to_queue="q"), "move_to_queue", "already")
    appeals = default_appeals_queue().pk
    refused(job, mod, DecisionInput(move_to_queue=appeals), "move_to_queue", "appeals")
    queue("other")
    refused(job, mod, DecisionInput(move_to_queue="other", enqueue_ncmec=True), "move_to_queue")


def test_deciding_twice_is_already_decided_and_changes_nothing(setup, people):
    _, job = setup
    decision = decide(job.pk, people["mod"], DecisionInput([DELETE], reason="spam"))
    assert Decision.objects.get() == decision
    before = snapshot()
    for user in (people["mod"], people["manager"]):
        with pytest.raises(AlreadyDecidedError):
            decide(job.pk, user, DecisionInput(ignore=True))
    assert snapshot() == before


def test_unknown_job(catalog, people):
    with pytest.raises(DecisionRefusedError) as info:
        decide("00000000-0000-0000-0000-000000000000", people["manager"], DecisionInput(True))
    assert not isinstance(info.value, AlreadyDecidedError)


# What a decision commits ------------------------------------------------------------------


def test_action_decision_closes_the_job_executes_and_records(setup, people):
    _q, job = setup
    mod = people["mod"]
    ban_author = ActionChoice("ban", ["spam"], item=ItemRef("u-1", "user"))
    decision = decide(
        job.pk, mod, DecisionInput([DELETE, ban_author], reason="clear spam", note="n1")
    )
    job.refresh_from_db()
    assert job.status == JobStatus.DECIDED
    assert job.closed_at is not None
    assert (job.lease_owner, job.lease_expires_at) == (None, None)
    executions = {e.action_id: e for e in ActionExecution.objects.all()}
    assert set(executions) == {"delete", "ban"}
    delete = executions["delete"]
    assert (delete.source, delete.actor, delete.decision_reason) == ("REVIEW", mod, "clear spam")
    assert (delete.item_id, delete.submission_id) == ("p-1", job.submission_id)
    assert executions["ban"].item_id == "u-1"
    # One execution event: one strike record for the author.
    assert StrikeRecord.objects.filter(user_id="u-1").count() == 1
    assert decision.reviewer == mod
    assert decision.queue_id == "q"
    assert (decision.reason, decision.note) == ("clear spam", "n1")
    assert decision.types == ["ACTION"]
    assert decision.action_ids == ["delete", "ban"]
    assert decision.policy_ids == ["spam"]
    first, second = decision.components
    assert first["itemRef"] == {"id": "p-1", "typeId": "post"}
    assert first["executionIds"] == [str(delete.pk)]
    assert second["itemRef"] == {"id": "u-1", "typeId": "user"}
    assert second["related"] is True


def test_action_callback_gets_the_reason_and_report_history(setup, people):
    _, job = setup
    decide(job.pk, people["mod"], DecisionInput([DELETE], reason="clear spam", note="seen"))
    delivery = Delivery.objects.get(url=f"{PLATFORM}/delete")
    assert delivery.event == "action"
    assert body(delivery) == {
        "action": {"id": "delete"},
        "actorEmail": "mod@example.com",
        "actorNote": "seen",
        "creator": {"id": "u-1", "typeId": "user"},
        "custom": {
            "origin": "coop",
            "reason": "clear spam",
            "reportHistory": [
                {"reason": "ads everywhere", "reporter": {"id": "r-2", "typeId": "user"}},
                {"reason": "spammy", "reporter": {"id": "r-1", "typeId": "user"}},
            ],
            "reportCount": 2,
        },
        "decisionReason": "clear spam",
        "item": {"id": "p-1", "typeId": "post", "typeName": "Post"},
        "policies": [{"id": "spam", "name": "Spam", "penalty": "MEDIUM"}],
        "rules": [],
        "userStrikeCount": 2,
    }


def test_unreported_items_get_no_report_history(catalog, people):
    q = queue()
    job = rule_job(post("p-1"), q)
    decide(job.pk, people["manager"], DecisionInput([DELETE], reason="r"))
    assert body(Delivery.objects.get())["custom"] == {"origin": "coop"}


def test_ignore_callback(setup, people):
    _, job = setup
    set_review(ignoreCallbackUrl=f"{PLATFORM}/ignored")
    decision = decide(job.pk, people["mod"], DecisionInput(ignore=True))
    delivery = Delivery.objects.get()
    assert (delivery.event, delivery.url) == ("ignore", f"{PLATFORM}/ignored")
    assert body(delivery) == {
        "id": "p-1",
        "typeId": "post",
        "data": {"text": "hello", "author": {"id": "u-1", "typeId": "user"}},
    }
    assert decision.components == [{"type": "IGNORE"}]


def test_ignore_without_callback_url_sends_nothing(setup, people):
    _, job = setup
    decide(job.pk, people["mod"], DecisionInput(ignore=True))
    assert Delivery.objects.count() == 0
    assert Job.objects.get(pk=job.pk).status == JobStatus.DECIDED


def appeal_job():
    item = post("p-9", author="u-7")
    job = enqueue_for_review(item, default_appeals_queue(), JobSource.APPEAL, ["spam"])
    Appeal.objects.create(
        appeal_id="platform-appeal-7",
        job=job,
        appealed_by_type_id="user",
        appealed_by_id="u-7",
        appealed_at=timezone.now(),
        item_id="p-9",
        item_type_id="post",
        submission=item,
        actions_taken=["delete"],
        reason="it was a joke",
        violating_policies=["spam"],
    )
    return job


@pytest.mark.parametrize(
    ("outcome", "kind"), [("ACCEPT", "APPEAL_ACCEPT"), ("REJECT", "APPEAL_REJECT")]
)
def test_appeal_decision_callback(catalog, people, outcome, kind):
    set_appeals(
        callbackUrl=f"{PLATFORM}/appeals", headers={"X-Org": "acme"}, body={"source": "coop"}
    )
    job = appeal_job()
    decision = decide(job.pk, people["manager"], DecisionInput(appeal=outcome))
    delivery = Delivery.objects.get()
    assert (delivery.event, delivery.url) == ("appeal-decision", f"{PLATFORM}/appeals")
    assert delivery.headers == {"X-Org": "acme"}
    assert body(delivery) == {
        "appealId": "platform-appeal-7",
        "appealDecision": outcome,
        "appealedBy": {"id": "u-7", "typeId": "user"},
        "custom": {"source": "coop"},
        "item": {"id": "p-9", "typeId": "post"},
    }
    assert decision.types == [kind]
    assert Job.objects.get(pk=job.pk).status == JobStatus.DECIDED


def test_appeal_jobs_need_an_appeal_decision_and_no_url_means_no_callback(catalog, people):
    job = appeal_job()
    with pytest.raises(DecisionRefusedError) as info:
        decide(job.pk, people["manager"], DecisionInput(ignore=True))
    assert info.value.field == "appeal"
    decide(job.pk, people["manager"], DecisionInput(appeal="REJECT"))
    assert Delivery.objects.count() == 0


def test_move_keeps_the_job_and_its_history(setup, people):
    q, job = setup
    other = queue("other", reviewers=[people["mod2"]])
    decision = decide(job.pk, people["mod"], DecisionInput(move_to_queue="other"))
    moved = Job.objects.get(pk=job.pk)
    assert (moved.queue_id, moved.status) == ("other", JobStatus.PENDING)
    assert (moved.created_at, moved.report_count) == (job.created_at, 2)
    assert moved.lease_owner is None
    assert Report.objects.filter(job=moved).count() == 2
    assert decision.components == [{"type": "MOVE", "fromQueue": "q", "toQueue": "other"}]
    assert claim_next(other, people["mod2"]).pk == job.pk
    assert claim_next(q, people["mod"]) is None


def test_move_into_a_queue_where_the_item_waits_merges(setup, people):
    _q, job = setup
    other = queue("other")
    twin = report(post("p-1"), other, reporter="r-3")
    decision = decide(job.pk, people["mod"], DecisionInput(move_to_queue="other"))
    assert Job.objects.get(pk=job.pk).status == JobStatus.DECIDED
    twin.refresh_from_db()
    assert twin.report_count == 3
    assert Report.objects.filter(job=twin).count() == 3
    assert decision.components[0]["mergedInto"] == str(twin.pk)


def test_actions_and_move_together(setup, people):
    _, job = setup
    queue("other")
    decide(job.pk, people["mod"], DecisionInput([ActionChoice("label")], move_to_queue="other"))
    moved = Job.objects.get(pk=job.pk)
    assert (moved.queue_id, moved.status) == ("other", JobStatus.PENDING)
    assert ActionExecution.objects.get().action_id == "label"


def test_enqueue_to_ncmec_closes_the_job(setup, people):
    _, job = setup
    queue("ncmec")
    assert save_object("ncmec", {"defaultQueue": "ncmec"}).ok
    decision = decide(job.pk, people["mod"], DecisionInput(enqueue_ncmec=True))
    ncmec = Job.objects.get(kind="NCMEC")
    assert (ncmec.item_id, ncmec.item_type_id, ncmec.queue_id) == ("u-1", "user", "ncmec")
    assert ncmec.source == "MANUAL"
    assert Job.objects.get(pk=job.pk).status == JobStatus.DECIDED
    assert decision.components == [
        {
            "type": "NCMEC",
            "itemRef": {"id": "p-1", "typeId": "post"},
            "userRef": {"id": "u-1", "typeId": "user"},
        }
    ]


def test_enqueue_to_ncmec_needs_an_author(catalog, people):
    q = queue()
    job = rule_job(post("p-1", author=None), q)
    with pytest.raises(DecisionRefusedError) as info:
        decide(job.pk, people["manager"], DecisionInput(enqueue_ncmec=True))
    assert info.value.field == "enqueue_ncmec"
    assert "no known author" in info.value.message
    assert Job.objects.get(pk=job.pk).status == JobStatus.PENDING


# Clear other reports ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("disposition", "types"),
    [(ClearDisposition.SAME_DECISION, ["ACTION"]), (ClearDisposition.IGNORE, ["IGNORE"])],
)
def test_clear_other_reports_in_all_queues(setup, people, disposition, types):
    q, job = setup
    q.clear_disposition, q.clear_scope = disposition, ClearScope.ALL_QUEUES
    q.clear_trigger_actions = ["delete"]
    q.save()
    elsewhere = report(post("p-1"), queue("other"), reporter="r-5")
    unrelated = report(post("p-2"), queue("third"))
    decide(job.pk, people["mod"], DecisionInput([DELETE], reason="spam"))
    elsewhere.refresh_from_db()
    assert elsewhere.status == JobStatus.DECIDED
    swept = Decision.objects.get(job=elsewhere)
    assert swept.reviewer == people["mod"]
    assert swept.reason == "spam"
    assert swept.types == types
    assert swept.components[0]["clearedBy"] == str(job.pk)
    assert Job.objects.get(pk=unrelated.pk).status == JobStatus.PENDING
    assert ActionExecution.objects.count() == 1  # the action ran once, on the item


def test_clear_other_reports_needs_a_trigger_action_and_respects_scope(setup, people):
    q, job = setup
    q.clear_disposition, q.clear_trigger_actions = ClearDisposition.IGNORE, ["delete"]
    q.save()  # scope: this queue only
    elsewhere = report(post("p-1"), queue("other"))
    decide(job.pk, people["mod"], DecisionInput([DELETE]))
    assert Job.objects.get(pk=elsewhere.pk).status == JobStatus.PENDING
    # Not a trigger action: nothing is swept even in all queues.
    q.clear_scope = ClearScope.ALL_QUEUES
    q.save()
    again = report(post("p-1"), q)
    decide(again.pk, people["manager"], DecisionInput([ActionChoice("label")]))
    assert Job.objects.get(pk=elsewhere.pk).status == JobStatus.PENDING


# Invalidate reports from a reporter ------------------------------------------------------


def test_invalidate_a_reporter_on_one_job(setup, people):
    _q, job = setup
    r1 = ItemRef("r-1", "user")
    with pytest.raises(DecisionRefusedError):
        invalidate_reporter(job, people["mod"], r1, everywhere=False)
    result = invalidate_reporter(job, people["manager"], r1, everywhere=False)
    assert (result.reports_invalidated, result.jobs_closed) == (1, 0)
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    assert job.report_count == 1
    assert Report.objects.get(reporter_id="r-1").invalidated_at is not None
    # The invalidated report no longer shows in the callback's history.
    decide(job.pk, people["mod"], DecisionInput([DELETE]))
    history = body(Delivery.objects.get())["custom"]["reportHistory"]
    assert [h["reporter"]["id"] for h in history] == ["r-2"]


def test_invalidate_everywhere_closes_jobs_left_without_reports(catalog, people):
    q, other = queue(), queue("other")
    bad = ItemRef("troll", "user")
    only_troll = report(post("p-1"), q, reporter="troll")
    mixed = report(post("p-2"), other, reporter="troll")
    report(post("p-2"), other, reporter="honest")
    rule_made = rule_job(post("p-3"), q)
    report(post("p-3"), q, reporter="troll")
    troll_only_too = report(post("p-4"), q, reporter="troll")
    result = invalidate_reporter(only_troll, people["manager"], bad, everywhere=True)
    assert result.reports_invalidated == 4
    assert result.jobs_closed == 2
    closed = Job.objects.get(pk=only_troll.pk)
    assert closed.status == JobStatus.INVALIDATED
    assert closed.closed_at is not None
    decision = Decision.objects.get(job=closed)
    assert decision.components == [
        {"type": "INVALIDATED", "reporter": {"id": "troll", "typeId": "user"}}
    ]
    assert decision.reviewer == people["manager"]
    assert Job.objects.get(pk=mixed.pk).status == JobStatus.PENDING
    assert Job.objects.get(pk=rule_made.pk).status == JobStatus.PENDING  # it has a rule source
    assert Job.objects.get(pk=troll_only_too.pk).status == JobStatus.INVALIDATED


def test_lease_expired_and_taken_over_refuses_the_first_reviewer(setup, people):
    q, job = setup
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert claim_next(q, people["mod2"]).pk == job.pk
    refused(job, people["mod"], DecisionInput(ignore=True), match="claimed")
    decide(job.pk, people["mod2"], DecisionInput(ignore=True))
