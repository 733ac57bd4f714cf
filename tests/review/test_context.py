"""job_context (the job page's data) and comments that follow the item."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from coop.catalog.models import ItemType
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution
from coop.review.comments import CommentRefusedError, add_comment, comments_for
from coop.review.context import job_context
from coop.review.decisions import ActionChoice, DecisionInput, decide
from coop.review.models import Appeal, JobSource
from coop.review.services import default_appeals_queue, enqueue_for_review
from coop.rules.models import Rule, RuleExecution
from factories import post, queue, report, rule_job, set_review

pytestmark = pytest.mark.django_db


def test_comments_follow_the_item(catalog, people):
    q = queue()
    first = rule_job(post("p-1"), q)
    add_comment(first, people["mod"], "  looks like a bot  ")
    with pytest.raises(CommentRefusedError):
        add_comment(first, people["mod"], "   ")
    decide(first.pk, people["manager"], DecisionInput(ignore=True))
    later = report(post("p-1"), queue("other"))
    assert later.pk != first.pk
    add_comment(later, people["mod2"], "again")
    texts = [(c.author.email, c.text) for c in comments_for(ItemRef("p-1", "post"))]
    assert texts == [("mod@example.com", "looks like a bot"), ("mod2@example.com", "again")]
    assert [c.text for c in job_context(later, people["mod2"]).comments] == [
        "looks like a bot",
        "again",
    ]


def test_job_context(catalog, people, django_assert_max_num_queries):
    set_review(hideSkipForNonAdmins=True)
    q = queue(hidden_actions=["label"])
    t0 = timezone.now() - timedelta(hours=1)
    # A thread of 25 messages ordered by their createdAt role; the job's item is #12.
    for i in range(25):
        post(
            f"m-{i}",
            author="u-1" if i % 2 else "u-2",
            thread="t-1",
            created_at=(t0 + timedelta(minutes=i)).isoformat(),
            submitted_at=t0 + timedelta(minutes=50 - i),  # arrival order differs
        )
    item = post(
        "m-12", author="u-1", thread="t-1", created_at=(t0 + timedelta(minutes=12)).isoformat()
    )
    report(
        item,
        q,
        reporter="r-1",
        reason="rude",
        policy="spam",
        ago=30,
        items_in_thread=[{"id": "m-11", "typeId": "post"}],
    )
    job = report(item, q, reporter="r-2", reason="again")
    other = rule_job(item, queue("other"), ["ads"])
    ActionExecution.objects.create(
        action_id="ban", item_id="u-1", item_type_id="user", source="REVIEW"
    )
    Rule.objects.create(id="r1", name="Rude words", item_types=["post"])
    RuleExecution.objects.create(
        rule_id="r1",
        rule_version=3,
        environment="LIVE",
        submission_id=item.pk,
        item_id="m-12",
        item_type_id="post",
        outcome="PASSED",
        duration_us=5,
        created_at=timezone.now(),
        result={
            "conditions": [
                {
                    "input": {"field": "text"},
                    "outcome": "PASSED",
                    "matchedValue": {"value": "rude", "index": 0},
                }
            ],
            "outcome": "PASSED",
        },
    )
    RuleExecution.objects.create(
        rule_id="r1",
        rule_version=3,
        environment="LIVE",
        submission_id=item.pk,
        item_id="m-12",
        item_type_id="post",
        outcome="FAILED",
        duration_us=5,
        created_at=timezone.now(),
        result={},
    )
    add_comment(job, people["mod"], "hm")
    job.refresh_from_db()
    with django_assert_max_num_queries(30):
        ctx = job_context(job, people["mod"])
    assert ctx.item.ref == ItemRef("m-12", "post")
    assert ctx.item.type_name == "Post"
    assert [f["name"] for f in ctx.item.fields][:2] == ["text", "author"]
    assert ctx.item.data["text"] == "hello"
    assert ctx.author.ref == ItemRef("u-1", "user")
    assert [e.action_id for e in ctx.author.previous_actions] == ["ban"]
    assert len(ctx.author.recent_items) == 10
    assert all(s.creator_id == "u-1" for s in ctx.author.recent_items)
    names = [e.submission.item_id for e in ctx.thread]
    assert names == [f"m-{i}" for i in range(2, 23)]
    assert [e.submission.item_id for e in ctx.thread if e.reported] == ["m-11", "m-12"]
    assert [e.current for e in ctx.thread].index(True) == 10
    assert [(r.reporter.item_id, r.reason) for r in ctx.reports] == [
        ("r-2", "again"),
        ("r-1", "rude"),
    ]
    assert [(h.rule_name, h.rule_version) for h in ctx.rule_hits] == [("Rude words", 3)]
    assert ctx.rule_hits[0].matched == [
        {"input": {"field": "text"}, "matchedValue": {"value": "rude", "index": 0}}
    ]
    assert [j.pk for j in ctx.other_jobs] == [other.pk]
    assert [(p.id, p.text) for p in ctx.policies] == [("spam", "No spam.")]
    action_ids = {a.id for a in ctx.actions}
    assert "delete" in action_ids
    assert "coop.manual-review" in action_ids
    assert "label" not in action_ids
    assert "ban" not in action_ids
    assert [c.text for c in ctx.comments] == ["hm"]
    assert ctx.can_skip is False
    assert job_context(job, people["admin"]).can_skip is True
    assert ctx.appeal is None
    assert ctx.can_invalidate is False
    assert [m.pk for m in ctx.move_targets] == ["default", "other"]
    assert ctx.review_settings["hideSkipForNonAdmins"] is True


def test_appeal_context(catalog, people):
    item = post("p-9", author="u-7")
    job = enqueue_for_review(item, default_appeals_queue(), JobSource.APPEAL, ["spam"])
    Appeal.objects.create(
        appeal_id="a-1",
        job=job,
        appealed_by_type_id="user",
        appealed_by_id="u-7",
        appealed_at=timezone.now(),
        item_id="p-9",
        item_type_id="post",
        submission=item,
        actions_taken=["delete", "gone"],
        reason="it was a joke",
        violating_policies=["spam"],
        additional_items=[{"id": "p-8", "typeId": "post"}],
    )
    ctx = job_context(job, people["manager"])
    appeal = ctx.appeal
    assert appeal.reason == "it was a joke"
    assert appeal.actioned_item.data["text"] == "hello"
    assert [getattr(a, "id", a) for a in appeal.actions_taken] == ["delete", "gone"]
    assert [p.id for p in appeal.violating_policies] == ["spam"]
    assert appeal.additional_items == [{"id": "p-8", "typeId": "post"}]
    assert ctx.author.ref == ItemRef("u-7", "user")


def test_context_of_an_item_without_data(catalog, people):
    job = rule_job(ItemRef("u-3", "user"), queue())
    ctx = job_context(job, people["manager"])
    assert ctx.item.data == {}
    assert ctx.item.submission_id is None
    assert ctx.author.ref == ItemRef("u-3", "user")
    assert ctx.author.strike_total == 0
    assert ctx.thread == []
    assert ctx.reports == []
    assert {a.id for a in ctx.actions} >= {"ban", "label"}
    decide(job.pk, people["manager"], DecisionInput([ActionChoice("ban")]))


def test_hidden_fields_are_never_shown(catalog, people):
    ItemType.objects.filter(pk="post").update(hidden_fields=["deleted", "internalScore"])
    submission = post("p-h", deleted=False)
    submission.data["internalScore"] = 0.97  # data the schema does not name, hidden too
    submission.save(update_fields=["data"])
    ctx = job_context(rule_job(submission, queue()), people["manager"])
    assert "deleted" not in {f["name"] for f in ctx.item.fields}
    assert "deleted" not in ctx.item.data
    assert "internalScore" not in ctx.item.data
    assert ctx.item.data["text"] == "hello"
