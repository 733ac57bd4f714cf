"""NCMEC user lookup through partial items (review.md, NCMEC; api.md, partial items): an item
or user Coop has no data for is asked from the platform, stored, and then found; when the
platform does not give it, the caller or the job's case says why."""

from __future__ import annotations

import pytest
from django.db import transaction

from childsafety.conftest import IMG, store
from coop.childsafety.jobs import case_for
from coop.core.items import ItemRef
from coop.enforcement.models import ExecutionSource
from coop.enforcement.services import ActionError, ActionRequest, execute_actions
from coop.ingest.models import SubmissionSource
from coop.ingest.store import latest_for
from coop.review.models import Job, JobKind
from integrations.fakes import Reply
from platform_fake import configured_platform

pytestmark = pytest.mark.django_db

POST = ItemRef("p-9", "post")
USER = ItemRef("u-1", "user")


@pytest.fixture
def platform(ncmec_queue, monkeypatch):
    yield from configured_platform(monkeypatch)


def enqueue(item: ItemRef):
    with transaction.atomic():
        (execution,) = execute_actions([ActionRequest("coop.ncmec", item, ExecutionSource.API)])
    return execution


def refusal(item: ItemRef) -> str:
    """What the actions API answers when the job cannot be made."""
    with pytest.raises(ActionError) as refused:
        enqueue(item)
    return str(refused.value)


def test_an_item_coop_never_saw_is_asked_and_its_author_gets_the_job(platform):
    platform.items[("post", "p-9")] = {
        "text": "look",
        "images": [f"{IMG}z.jpg"],
        "author": {"id": "u-1", "typeId": "user"},
    }
    platform.items[("user", "u-1")] = {"name": "Some One", "avatar": f"{IMG}face.png"}
    assert enqueue(POST).refused_reason == ""
    (job,) = Job.objects.filter(kind=JobKind.NCMEC)
    assert (job.item_id, job.item_type_id) == ("u-1", "user")
    assert latest_for(POST).source == SubmissionSource.PARTIAL_ITEMS
    case = case_for(job)  # the user is asked for before gathering
    assert platform.asked() == [
        [{"id": "p-9", "typeId": "post"}],
        [{"id": "u-1", "typeId": "user"}],
    ]
    assert [(m["item"]["id"], m["url"]) for m in case.media] == [
        ("p-9", f"{IMG}z.jpg"),
        ("u-1", f"{IMG}face.png"),
    ]
    assert case.missing_data == ""


def test_when_the_platform_does_not_have_the_item_the_caller_is_told_why(platform):
    reason = refusal(POST)
    assert "Coop has no data for post/p-9 and could not get it from the platform:" in reason
    assert reason.endswith("post/p-9: the platform did not return this item")
    assert not Job.objects.exists()


def test_a_failed_request_is_the_reason(platform, settings):
    settings.COOP_WEBHOOK_TIMEOUT = 1  # the request's budget, its retries included
    platform.script = [Reply(503, {"error": "down"}) for _ in range(20)]
    reason = refusal(POST)
    assert "the partial-items request failed: The partial-items endpoint" in reason
    assert "HTTP 503" in reason


def test_the_case_says_which_data_the_platform_did_not_give(platform):
    store("p-1", images=[f"{IMG}a.jpg"])  # stored; its author u-1 is not
    assert enqueue(ItemRef("p-1", "post")).refused_reason == ""
    (job,) = Job.objects.filter(kind=JobKind.NCMEC)
    case = case_for(job)
    assert platform.asked() == [[{"id": "u-1", "typeId": "user"}]]
    assert case.missing_data == "user/u-1: the platform did not return this item"
    assert [m["url"] for m in case.media] == [f"{IMG}a.jpg"]  # the job is still made


def test_nothing_is_asked_when_everything_is_stored(platform):
    store("u-1", "user", author=None, name="Some One")
    store("p-1", images=[f"{IMG}a.jpg"])
    enqueue(ItemRef("p-1", "post"))
    case_for(Job.objects.get(kind=JobKind.NCMEC))
    platform.expect_no_calls()
