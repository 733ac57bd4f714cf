"""Auto-close refreshes the `isDeleted` role through partial items when configured (review.md,
Auto-close; api.md, partial items): what the platform says now decides, and is stored as the
item's latest data; when it does not answer, the stored data decides."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coop.core.items import ItemRef
from coop.ingest.models import SubmissionSource
from coop.ingest.store import latest_for
from coop.review.claims import claim_next
from coop.review.models import Decision, JobStatus
from factories import post, queue, rule_job
from integrations.fakes import Reply
from platform_fake import configured_platform

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(catalog, monkeypatch):
    yield from configured_platform(monkeypatch)


def test_an_item_the_platform_now_says_is_deleted_is_closed(platform, people):
    q = queue(auto_close_deleted=True)
    gone = rule_job(post("gone", deleted=False), q)
    alive = rule_job(post("alive"), q)
    platform.items[("post", "gone")] = {"text": "hello", "deleted": True}
    platform.items[("post", "alive")] = {"text": "hello", "deleted": False}
    claimed = claim_next(q, people["mod"])
    assert claimed.pk == alive.pk
    assert platform.asked() == [
        [{"id": "gone", "typeId": "post"}],
        [{"id": "alive", "typeId": "post"}],
    ]
    gone.refresh_from_db()
    assert gone.status == JobStatus.DECIDED
    assert Decision.objects.get(job=gone).components == [
        {"type": "AUTOMATIC_CLOSE", "reason": "ITEM_DELETED_BEFORE_REVIEW"}
    ]
    assert latest_for(ItemRef("gone", "post")).source == SubmissionSource.PARTIAL_ITEMS


def test_an_item_the_platform_restored_is_not_closed(platform, people):
    q = queue(auto_close_deleted=True)
    job = rule_job(post("back", deleted=True), q)
    platform.items[("post", "back")] = {"text": "hello", "deleted": False}
    assert claim_next(q, people["mod"]).pk == job.pk


def test_when_the_platform_does_not_answer_the_stored_data_decides(platform, people, settings):
    settings.COOP_WEBHOOK_TIMEOUT = 1
    platform.script = [Reply(500, {"error": "down"}) for _ in range(20)]
    q = queue(auto_close_deleted=True)
    gone = rule_job(post("gone", deleted=True), q)
    alive = rule_job(post("alive", deleted=False), q)
    told: list[str] = []
    assert claim_next(q, people["mod"], told.append).pk == alive.pk
    gone.refresh_from_db()
    assert gone.status == JobStatus.DECIDED
    assert len(told) == 2
    assert told[1].startswith("Coop could not ask the platform whether post/alive was deleted")
    assert told[1].endswith("this job was opened from the data Coop stores.")


def test_the_reviewer_sees_that_the_platform_did_not_answer(platform, people, settings, client):
    settings.COOP_WEBHOOK_TIMEOUT = 1
    platform.script = [Reply(500, {"error": "down"}) for _ in range(20)]
    q = queue(reviewers=[people["mod"]], auto_close_deleted=True)
    job = rule_job(post("alive", deleted=False), q)
    client.force_login(people["mod"])
    page = client.post(reverse("queue-review", args=[q.pk]), follow=True)
    assert page.redirect_chain[-1][0] == reverse("job", args=[job.pk])
    assert "Coop could not ask the platform whether post/alive was deleted" in page.content.decode()


def test_queues_without_auto_close_ask_nothing(platform, people):
    q = queue()
    job = rule_job(post("p-1"), q)
    assert claim_next(q, people["mod"]).pk == job.pk
    platform.expect_no_calls()
