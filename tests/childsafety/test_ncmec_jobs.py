"""User-level NCMEC jobs (review.md, NCMEC): every entry point creates or merges the user's
pending NCMEC job in the NCMEC queue, with the user and all of their media, the reported item
first; when no job can be made, the caller gets the reason."""

from __future__ import annotations

import pytest
from django.db import transaction

from childsafety.conftest import IMG, USER, store
from coop.childsafety import gathering
from coop.childsafety.jobs import NcmecRefused, case_for, enqueue_user
from coop.childsafety.models import NcmecCase, NcmecReport
from coop.config.services import save_object
from coop.core.items import ItemRef
from coop.enforcement.models import ExecutionSource
from coop.enforcement.services import ActionError, ActionRequest, execute_actions
from coop.review.claims import claim_next
from coop.review.decisions import DecisionInput, decide
from coop.review.errors import DecisionRefusedError
from coop.review.models import Decision, Job, JobKind, JobSource, JobStatus, Report
from coop.review.visibility import may_view_job
from coop.rules.models import RoutingDecision, RoutingRule
from factories import queue, rule_job

pytestmark = pytest.mark.django_db

POST = ItemRef("p-1", "post")


def run(request: ActionRequest):
    with transaction.atomic():
        return execute_actions([request])


def ncmec_jobs() -> list[Job]:
    return list(Job.objects.filter(kind=JobKind.NCMEC).order_by("created_at"))


# The one service -------------------------------------------------------------------------


def test_a_rule_action_creates_the_users_job_and_later_entries_merge(ncmec_queue):
    store("p-1", images=[f"{IMG}a.jpg"])
    store("p-2", text="text only")
    (first,) = run(ActionRequest("coop.ncmec", POST, ExecutionSource.RULE))
    assert first.refused_reason == ""
    (job,) = ncmec_jobs()
    assert (job.item_id, job.item_type_id, job.queue_id) == ("u-1", "user", "ncmec")
    assert (job.status, job.source, job.kind) == (JobStatus.PENDING, JobSource.RULE, "NCMEC")
    run(ActionRequest("coop.ncmec", ItemRef("p-2", "post"), ExecutionSource.API))
    run(ActionRequest("coop.ncmec", POST, ExecutionSource.RULE))  # the same item again
    (merged,) = ncmec_jobs()
    assert (merged.pk, merged.created_at) == (job.pk, job.created_at)
    case = NcmecCase.objects.get(job=job)
    assert [(e["id"], e["source"]) for e in case.entries] == [("p-1", "RULE"), ("p-2", "API")]
    assert case.entry_count == 3
    assert case.stale


def test_a_user_item_is_its_own_user(ncmec_queue):
    store("u-1", "user", author=None, name="Some One", avatar=f"{IMG}face.png")
    run(ActionRequest("coop.ncmec", USER, ExecutionSource.RULE))
    (job,) = ncmec_jobs()
    assert (job.item_id, job.submission.item_id) == ("u-1", "u-1")


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("no_queue", "No NCMEC queue is set"),
        ("no_author", "has no known author"),
        ("unknown_user", "Coop has no data for user/u-9"),
        ("reported", "was already reported to NCMEC (CyberTip report 4242)"),
        ("being_filed", "A CyberTip report on user/u-1 is already being filed"),
    ],
)
def test_the_reason_reaches_every_caller(catalog, people, api, setup, reason):
    """The API answers 400 with a pointer, a rule's execution records the reason (its
    execution log), and nothing is written."""
    item = POST
    if setup != "no_queue":
        queue("ncmec", [people["cs"]])
        assert save_object("ncmec", {"defaultQueue": "ncmec"}).ok
    store("p-1", author=None if setup == "no_author" else "u-1")
    if setup == "unknown_user":
        item = ItemRef("u-9", "user")
    if setup in ("reported", "being_filed"):
        NcmecReport.objects.create(
            user_id="u-1",
            user_type_id="user",
            draft={},
            is_test=False,
            status="SUBMITTED" if setup == "reported" else "QUEUED",
            report_id="4242" if setup == "reported" else "",
        )
    body = {"actionId": "coop.ncmec", "itemId": item.item_id, "itemTypeId": item.item_type_id}
    response = api.post("/api/v1/actions/", body)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert reason in error["detail"]
    assert error["pointer"] == "/itemId"
    (execution,) = run(ActionRequest("coop.ncmec", item, ExecutionSource.RULE))
    assert reason in execution.refused_reason
    assert ncmec_jobs() == []
    assert not Decision.objects.exists()


def test_a_test_report_does_not_block_a_new_job(ncmec_queue):
    store("p-1")
    NcmecReport.objects.create(user_id="u-1", user_type_id="user", draft={}, is_test=True)
    with transaction.atomic():
        job = enqueue_user(POST, JobSource.API)
    assert job.kind == JobKind.NCMEC


def test_the_actions_api_creates_the_job_and_logs_the_decision(ncmec_queue, api):
    store("p-1")
    response = api.post(
        "/api/v1/actions/", {"actionId": "coop.ncmec", "itemId": "p-1", "itemTypeId": "post"}
    )
    assert response.status_code == 202
    (job,) = ncmec_jobs()
    assert (job.item_id, job.source) == ("u-1", JobSource.API)
    assert Decision.objects.get().action_ids == ["coop.ncmec"]


def test_enqueue_to_ncmec_converts_the_job(ncmec_queue, people):
    q = queue("q", [people["cs"]])
    job = rule_job(store("p-1", images=[f"{IMG}a.jpg"]), q)
    claim_next(q, people["cs"])
    decision = decide(job.pk, people["cs"], DecisionInput(enqueue_ncmec=True))
    assert decision.types == ["NCMEC"]
    assert Job.objects.get(pk=job.pk).status == JobStatus.DECIDED
    (ncmec,) = ncmec_jobs()
    assert (ncmec.item_id, ncmec.queue_id, ncmec.source) == ("u-1", "ncmec", JobSource.MANUAL)
    assert NcmecCase.objects.get(job=ncmec).entries[0]["id"] == "p-1"


def test_enqueue_to_ncmec_says_why_not_and_changes_nothing(client, catalog, people):
    q = queue("q", [people["cs"]])
    job = rule_job(store("p-1"), q)
    claim_next(q, people["cs"])
    with pytest.raises(DecisionRefusedError) as refused:
        decide(job.pk, people["cs"], DecisionInput(enqueue_ncmec=True))
    assert refused.value.field == "enqueue_ncmec"
    assert "No NCMEC queue is set" in refused.value.message
    # The console shows it on the job page, next to the choice.
    client.force_login(people["cs"])
    response = client.post(f"/jobs/{job.pk}/decide", {"enqueue_ncmec": "on", "queue": "q"})
    assert response.status_code == 422
    assert "No NCMEC queue is set" in response.content.decode()
    assert Job.objects.get(pk=job.pk).status == JobStatus.PENDING
    assert ncmec_jobs() == []
    assert not Decision.objects.exists()


# Reports sent with csam: true ------------------------------------------------------------


def csam_report(api, item: dict, **reason) -> dict:
    body = {
        "reporter": {"kind": "user", "typeId": "user", "id": "r-1"},
        "reportedAt": "2026-01-15T10:30:00Z",
        "reportedForReason": {"csam": True, "reason": "CSAM-REASON", **reason},
        "reportedItem": item,
    }
    response = api.post("/api/v1/report", body)
    assert response.status_code == 201, response.content
    return response.json()


POST_DATA = {"text": "x", "images": [f"{IMG}a.jpg"], "author": {"id": "u-1", "typeId": "user"}}


def test_a_csam_report_goes_to_the_users_ncmec_job_never_routed(ncmec_queue, api):
    queue("other")
    RoutingRule.objects.create(
        id="all-posts", name="All posts", item_types=["post"], queue_id="other",
        condition={"all": []}, position=0,
    )  # fmt: skip
    reply = csam_report(api, {"id": "p-1", "typeId": "post", "data": POST_DATA})
    report = Report.objects.get(pk=reply["reportId"])
    job = report.job
    assert (job.kind, job.item_id, job.queue_id) == (JobKind.NCMEC, "u-1", "ncmec")
    assert (job.source, job.report_count) == (JobSource.REPORT, 1)
    assert not RoutingDecision.objects.exists()
    csam_report(api, {"id": "p-2", "typeId": "post", "data": POST_DATA})
    (merged,) = ncmec_jobs()
    assert merged.report_count == 2
    assert [e["id"] for e in NcmecCase.objects.get(job=merged).entries] == ["p-1", "p-2"]


def test_a_csam_report_without_author_keeps_a_hidden_item_job(ncmec_queue, api, people):
    """Accepted (201): the report waits on its item in the NCMEC queue, visible only with
    VIEW_CHILD_SAFETY_DATA, and its page says Enqueue to NCMEC."""
    reply = csam_report(api, {"id": "p-1", "typeId": "post", "data": {"text": "no author"}})
    job = Report.objects.get(pk=reply["reportId"]).job
    assert (job.kind, job.item_id, job.queue_id) == (JobKind.DEFAULT, "p-1", "ncmec")
    assert not may_view_job(people["mod"], job)
    assert may_view_job(people["cs"], job)


def test_with_no_ncmec_queue_csam_jobs_wait_in_the_default_queue_hidden(
    client, catalog, api, people
):
    reply = csam_report(api, {"id": "p-1", "typeId": "post", "data": POST_DATA})
    job = Report.objects.get(pk=reply["reportId"]).job
    assert (job.kind, job.item_id) == (JobKind.NCMEC, "u-1")
    assert job.queue.is_default
    job.queue.reviewers.add(people["mod"], people["cs"])
    assert not may_view_job(people["mod"], job)
    assert claim_next(job.queue, people["mod"]) is None
    assert claim_next(job.queue, people["cs"]).pk == job.pk
    client.force_login(people["cs"])
    assert "No NCMEC queue is set" in client.get("/").content.decode()


@pytest.mark.parametrize("role", ["mod", "external", "manager", "cs"])
def test_a_csam_report_is_never_shown_without_the_permission(
    ncmec_queue, api, client, people, role
):
    csam_report(api, {"id": "p-1", "typeId": "post", "data": POST_DATA})
    user = people[role]
    ncmec_queue.reviewers.add(user)  # even listed (refused on save) they do not see it
    client.force_login(user)
    pages = [client.get(url) for url in ("/", "/queues", "/decisions", "/queues/ncmec/review")]
    seen = any("u-1" in p.content.decode() for p in pages if p.status_code == 200)
    assert seen == user.has_permission("VIEW_CHILD_SAFETY_DATA")


# What the job gathers --------------------------------------------------------------------


def test_the_job_holds_the_users_media_reported_first_and_their_threads(ncmec_queue):
    store("p-old", images=[f"{IMG}old.jpg"], internal=f"{IMG}hidden.jpg")
    store("p-1", images=[f"{IMG}a.jpg", f"{IMG}b.jpg"], video=f"{IMG}v.mp4", thread="t-1")
    store("p-new", images=[f"{IMG}new.jpg"])
    store("p-new", images=[f"{IMG}new2.jpg"])  # a later version replaces the first
    store("p-else", author="u-2", images=[f"{IMG}else.jpg"])  # another user's
    store("u-1", "user", author=None, avatar=f"{IMG}face.png")
    store("m-1", "message", text="hi", thread="t-1", author="u-2")
    store("m-2", "message", text="hello", thread="t-1")
    with transaction.atomic():
        job = enqueue_user(POST, JobSource.RULE)
    case = case_for(job)
    urls = [m["url"] for m in case.media]
    assert urls == [
        f"{IMG}a.jpg", f"{IMG}b.jpg", f"{IMG}v.mp4",  # the reported item first
        f"{IMG}new2.jpg", f"{IMG}old.jpg",  # then the user's other items, newest first
        f"{IMG}face.png",  # the user's own item last
    ]  # fmt: skip
    assert [m["reported"] for m in case.media] == [True, True, True, False, False, False]
    assert [m["kind"] for m in case.media][:3] == ["IMAGE", "IMAGE", "VIDEO"]
    assert case.media_total == 6
    (thread,) = case.threads
    assert thread["thread"] == {"id": "t-1", "typeId": "thread"}
    assert [m["item"]["id"] for m in thread["messages"]] == ["p-1", "m-1", "m-2"]
    assert [m["byUser"] for m in thread["messages"]] == [True, False, True]
    assert (case.version, case.stale) == (1, False)
    assert case_for(job).version == 1  # opened again: the same list


def test_a_text_only_user_has_a_job_with_their_threads(ncmec_queue):
    store("m-1", "message", text="are you alone?", thread="t-9")
    with transaction.atomic():
        job = enqueue_user(ItemRef("m-1", "message"), JobSource.RULE)
    case = case_for(job)
    assert case.media == []
    assert [m["item"]["id"] for m in case.threads[0]["messages"]] == ["m-1"]


def test_the_work_is_bounded_and_says_so(ncmec_queue, monkeypatch):
    monkeypatch.setattr(gathering, "MAX_MEDIA", 3)
    monkeypatch.setattr(gathering, "SCAN_LIMIT", 4)
    for i in range(6):
        store(f"p-{i}", images=[f"{IMG}{i}.jpg"])
    with transaction.atomic():
        job = enqueue_user(ItemRef("p-0", "post"), JobSource.RULE)
    case = case_for(job)
    assert [m["url"] for m in case.media] == [f"{IMG}0.jpg", f"{IMG}5.jpg", f"{IMG}4.jpg"]
    assert case.media_total == 5  # p-0 (reported) and the 4 newest scanned
    assert not case.media_scan_complete


def test_a_new_entry_gathers_again_when_the_job_is_opened(ncmec_queue):
    store("p-1", images=[f"{IMG}a.jpg"])
    with transaction.atomic():
        job = enqueue_user(POST, JobSource.RULE)
    assert len(case_for(job).media) == 1
    store("p-2", images=[f"{IMG}b.jpg"])
    assert len(case_for(job).media) == 1  # nothing new reached the job
    with transaction.atomic():
        enqueue_user(ItemRef("p-2", "post"), JobSource.API)
    case = case_for(job)
    assert [m["url"] for m in case.media] == [f"{IMG}a.jpg", f"{IMG}b.jpg"]
    assert case.version == 2


def test_refusals_are_checked_before_anything_is_written(ncmec_queue):
    store("p-1", author=None)
    with pytest.raises(NcmecRefused), transaction.atomic():
        enqueue_user(POST, JobSource.RULE)
    assert not Job.objects.exists()


def test_author_of_a_non_user_type_is_refused(ncmec_queue):
    store("p-1", author=None)
    with pytest.raises(NcmecRefused, match="not an item of a USER item type"):
        enqueue_user(POST, JobSource.RULE, user=ItemRef("t-1", "thread"))


def test_actions_api_errors_for_unknown_types_are_clear(ncmec_queue):
    with pytest.raises(ActionError) as caught:
        run(ActionRequest("coop.ncmec", ItemRef("x", "nope"), ExecutionSource.API))
    assert caught.value.pointer == "/itemTypeId"


def test_a_coop_ncmec_action_and_its_refusal_are_child_safety_on_job_pages(client, catalog, people):
    """The job page lists the actions taken on the item and its author: `coop.ncmec` (and why
    it was not applied) only for users with VIEW_CHILD_SAFETY_DATA."""
    q = queue("q", [people["mod"], people["cs"]])
    job = rule_job(store("p-1"), q)
    (execution,) = run(ActionRequest("coop.ncmec", POST, ExecutionSource.RULE))
    assert "No NCMEC queue is set" in execution.refused_reason
    client.force_login(people["cs"])
    page = client.get(f"/jobs/{job.pk}").content.decode()
    assert "Actions already taken on this item" in page
    assert "not applied" in page
    assert "No NCMEC queue is set" in page
    client.force_login(people["mod"])
    page = client.get(f"/jobs/{job.pk}").content.decode()
    assert "Actions already taken on this item" not in page  # coop.ncmec was the only one
    assert "No NCMEC queue is set" not in page
