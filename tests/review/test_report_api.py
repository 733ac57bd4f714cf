"""POST /api/v1/report, POST /api/v1/report/appeal and GET /api/v1/report/{id}."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from api.helpers import ApiClient, error_of
from coop.catalog.models import Action, Policy
from coop.config.services import save_object
from coop.ingest.models import ItemSubmission, SubmissionSource
from coop.review.claims import claim_next
from coop.review.models import Appeal, Job, JobKind, JobSource, JobStatus, Queue, Report
from coop.review.visibility import may_view_job
from factories import user

REPORT = "/api/v1/report"
APPEAL = "/api/v1/report/appeal"
INVALID = ["/errors/invalid-user-input"]


def report_body(**overrides) -> dict:
    body = {
        "reporter": {"kind": "user", "typeId": "user", "id": "u-9"},
        "reportedAt": "2024-01-15T10:30:00.000Z",
        "reportedForReason": {"policyId": "spam", "reason": "buy now", "csam": False},
        "reportedItem": {"id": "post-1", "typeId": "post", "data": {"text": "cheap pills"}},
        "reportedItemThread": [{"id": "m1", "typeId": "message", "data": {}}],
        "reportedItemsInThread": [{"id": "m1", "typeId": "message"}],
        "additionalItems": [{"id": "post-0", "typeId": "post", "data": {"text": "earlier"}}],
    }
    body.update(overrides)
    return body


def appeal_body(**overrides) -> dict:
    body = {
        "appealId": "platform-appeal-7",
        "appealedBy": {"typeId": "user", "id": "u-1"},
        "appealedAt": "2024-01-15T12:00:00.000Z",
        "actionedItem": {"id": "post-1", "typeId": "post", "data": {"text": "my post"}},
        "actionsTaken": ["delete"],
        "appealReason": "it was satire",
        "violatingPolicies": [{"id": "spam"}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def catalog(item_types):
    Policy.objects.create(id="spam", name="Spam")
    Policy.objects.create(id="scam", name="Scam")
    Action.objects.create(id="delete", name="Delete")
    return item_types


def assert_nothing_stored() -> None:
    assert ItemSubmission.objects.count() == 0
    assert Job.objects.count() == 0
    assert Report.objects.count() == 0
    assert Appeal.objects.count() == 0


# --- reports ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", [REPORT, REPORT + "/"])
def test_report_creates_job_report_and_submissions(api, catalog, path):
    response = api.post(path, report_body())
    assert response.status_code == 201, response.content
    report = Report.objects.get(pk=response.json()["reportId"])
    assert set(response.json()) == {"reportId"}

    job = report.job
    assert job.queue == Queue.objects.get(is_default=True, is_appeals=False)
    assert (job.kind, job.status, job.source) == (JobKind.DEFAULT, "PENDING", JobSource.REPORT)
    assert (job.item_type_id, job.item_id) == ("post", "post-1")
    assert job.policy_ids == ["spam"]
    assert job.report_count == 1
    assert job.submission.data == {"text": "cheap pills"}

    assert (report.reporter_type_id, report.reporter_id) == ("user", "u-9")
    assert (report.policy_id, report.reason, report.csam) == ("spam", "buy now", False)
    assert report.reported_at.isoformat() == "2024-01-15T10:30:00+00:00"
    assert report.thread == [{"id": "m1", "typeId": "message"}]
    assert report.items_in_thread == [{"id": "m1", "typeId": "message"}]
    assert report.additional_items == [{"id": "post-0", "typeId": "post"}]

    rows = {r.item_id: r for r in ItemSubmission.objects.all()}
    assert set(rows) == {"post-1", "m1", "post-0"}
    assert {r.source for r in rows.values()} == {SubmissionSource.REPORT}
    assert report.submission == rows["post-1"]


@pytest.mark.django_db
def test_repeat_reports_merge_into_the_pending_job(api, catalog):
    first = api.post(REPORT, report_body()).json()["reportId"]
    second_body = report_body(
        reporter={"kind": "user", "typeId": "user", "id": "u-10"},
        reportedForReason={"policyId": "scam"},
    )
    second = api.post(REPORT, second_body).json()["reportId"]
    third = api.post(REPORT, report_body()).json()["reportId"]
    job = Job.objects.get()
    assert job.report_count == 3
    assert job.policy_ids == ["spam", "scam"]
    assert {str(r.pk) for r in job.reports.all()} == {first, second, third}
    assert [r.reporter_id for r in job.reports.order_by("-created_at")] == ["u-9", "u-10", "u-9"]


@pytest.mark.django_db
def test_after_a_decision_the_next_report_creates_a_new_job(api, catalog):
    api.post(REPORT, report_body())
    Job.objects.update(status=JobStatus.DECIDED)
    api.post(REPORT, report_body())
    assert Job.objects.count() == 2
    assert Job.objects.filter(status="PENDING").get().report_count == 1


@pytest.mark.django_db
def test_report_without_data_uses_the_latest_stored_submission(api, catalog):
    items = {"items": [{"id": "post-1", "typeId": "post", "data": {"text": "v1"}}]}
    assert api.post("/api/v1/items/async/", items).status_code == 202
    items["items"][0]["data"]["text"] = "v2"
    latest = api.post("/api/v1/items/async/", items).json()["submissionIds"][0]
    body = report_body(reportedItem={"id": "post-1", "typeId": "post"}, additionalItems=[])
    response = api.post(REPORT, body)
    assert response.status_code == 201
    report = Report.objects.get()
    assert report.submission_id == latest
    assert report.job.submission_id == latest


@pytest.mark.django_db
def test_report_without_data_for_an_unknown_item_is_400(api, catalog):
    body = report_body(reportedItem={"id": "never", "typeId": "post"})
    response = api.post(REPORT, body)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["pointer"], error["title"]) == ("/reportedItem/data", "Unknown item")
    assert_nothing_stored()


@pytest.mark.django_db
def test_csam_reports_go_to_the_ncmec_queue(api, catalog):
    """api.md: `csam: true` routes to the NCMEC flow instead of normal routing."""
    Queue.objects.create(id="ncmec", name="NCMEC")
    assert save_object("ncmec", {"companyReportName": "Acme", "defaultQueue": "ncmec"}).ok
    response = api.post(REPORT, report_body(reportedForReason={"csam": True}))
    assert response.status_code == 201
    report = Report.objects.get()
    assert report.csam is True
    assert report.job.queue_id == "ncmec"


@pytest.mark.django_db
def test_csam_reports_without_ncmec_queue_are_held_for_child_safety_users(api, catalog):
    """With no NCMEC queue configured the job waits in the default queue, visible only to
    users with VIEW_CHILD_SAFETY_DATA."""
    response = api.post(REPORT, report_body(reportedForReason={"csam": True}))
    assert response.status_code == 201
    report = Report.objects.get()
    assert report.csam is True
    assert report.job.queue.is_default
    moderator = user("mod@example.com", "Moderator")
    child_safety = user("cs@example.com", "Child Safety Moderator")
    assert not may_view_job(moderator, report.job)
    assert may_view_job(child_safety, report.job)
    assert claim_next(report.job.queue, moderator) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "pointer"),
    [
        ({"reporter": {"kind": "bot", "typeId": "user", "id": "u"}}, "/reporter/kind"),
        ({"reporter": {"typeId": "user", "id": "u"}}, "/reporter/kind"),
        ({"reportedAt": "last tuesday"}, "/reportedAt"),
        ({"reportedItem": {"id": "p", "typeId": "nope", "data": {}}}, "/reportedItem/typeId"),
        ({"reportedItem": {"id": "p", "typeId": "post", "data": {}}}, "/reportedItem/data/text"),
        (
            {"reportedItem": {"id": "p", "typeId": "post", "data": {"text": 1}}},
            "/reportedItem/data/text",
        ),
        (
            {"reportedItemThread": [{"id": "m", "typeId": "message", "data": {"body": 5}}]},
            "/reportedItemThread/0/data/body",
        ),
        (
            {"additionalItems": [{"id": "a", "typeId": "post", "data": {}}]},
            "/additionalItems/0/data/text",
        ),
        ({"reportedForReason": {"policyId": "x" * 65}}, "/reportedForReason/policyId"),
    ],
)
def test_invalid_reports_are_400_with_pointers(api, catalog, overrides, pointer):
    response = api.post(REPORT, report_body(**overrides))
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == INVALID
    assert error["pointer"] == pointer
    assert_nothing_stored()


@pytest.mark.django_db
def test_missing_required_report_fields(api, catalog):
    response = api.post(REPORT, {})
    assert response.status_code == 400
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/reporter", "/reportedAt", "/reportedItem"}


@pytest.mark.django_db
def test_thread_items_are_validated_leniently(api, catalog):
    body = report_body(reportedItemThread=[{"id": "m", "typeId": "message", "data": {}}])
    assert api.post(REPORT, body).status_code == 201


@pytest.mark.django_db
def test_report_needs_a_key(catalog):
    response = ApiClient(None).post(REPORT, report_body())
    assert response.status_code == 401
    assert_nothing_stored()


@pytest.mark.django_db(transaction=True)
def test_concurrent_reports_merge_into_one_job(api_key, catalog):
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    statuses: list[int] = []

    def send(n: int) -> None:
        try:
            client = ApiClient(api_key)
            body = report_body(reporter={"kind": "user", "typeId": "user", "id": f"u-{n}"})
            barrier.wait()
            statuses.append(client.post(REPORT, body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * threads_count
    job = Job.objects.get()
    assert job.report_count == threads_count
    assert job.reports.count() == threads_count


# --- report status ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_report_status(api, catalog):
    report_id = api.post(REPORT, report_body()).json()["reportId"]
    job = Job.objects.get()
    for path in (f"{REPORT}/{report_id}", f"{REPORT}/{report_id}/"):
        response = api.get(path)
        assert response.status_code == 200
        assert response.json() == {
            "reportId": report_id,
            "status": "PENDING",
            "queueId": job.queue_id,
            "jobId": str(job.pk),
        }
    Job.objects.update(status=JobStatus.DECIDED)
    assert api.get(f"{REPORT}/{report_id}").json()["status"] == "DECIDED"
    Report.objects.update(invalidated_at="2024-02-01T00:00:00Z")
    assert api.get(f"{REPORT}/{report_id}").json()["status"] == "INVALIDATED"


@pytest.mark.django_db
@pytest.mark.parametrize("report_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_unknown_report_is_404(api, report_id):
    response = api.get(f"{REPORT}/{report_id}")
    assert response.status_code == 404
    assert error_of(response)["type"] == ["/errors/not-found"]


# --- appeals ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", [APPEAL, APPEAL + "/"])
def test_appeal_creates_an_appeal_job(api, catalog, path):
    response = api.post(path, appeal_body())
    assert response.status_code == 204
    assert response.content == b""
    appeal = Appeal.objects.get()
    job = appeal.job
    assert job.queue == Queue.objects.get(is_default=True, is_appeals=True)
    assert (job.kind, job.source, job.report_count) == (JobKind.APPEAL, JobSource.APPEAL, 0)
    assert job.policy_ids == ["spam"]
    assert (appeal.appeal_id, appeal.appealed_by_id) == ("platform-appeal-7", "u-1")
    assert appeal.actions_taken == ["delete"]
    assert appeal.reason == "it was satire"
    assert appeal.submission.source == SubmissionSource.APPEAL


@pytest.mark.django_db
def test_appeals_are_idempotent_on_appeal_id(api, catalog):
    assert api.post(APPEAL, appeal_body()).status_code == 204
    assert api.post(APPEAL, appeal_body(appealReason="again")).status_code == 204
    assert Appeal.objects.count() == 1
    assert Job.objects.count() == 1
    assert ItemSubmission.objects.count() == 1


@pytest.mark.django_db
def test_appeals_disabled_is_409(api, catalog):
    assert save_object("settings", {"appeals": {"enabled": False}}).ok
    response = api.post(APPEAL, appeal_body())
    assert response.status_code == 409
    error = error_of(response)
    assert error["title"] == "Appeals are disabled"
    assert_nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "pointers"),
    [
        ({"actionsTaken": ["delete", "ban", "mute"]}, ["/actionsTaken/1", "/actionsTaken/2"]),
        ({"actionsTaken": []}, ["/actionsTaken"]),
        ({"violatingPolicies": [{"id": "nope"}]}, ["/violatingPolicies/0/id"]),
        ({"actionedItem": {"id": "p", "typeId": "post", "data": {}}}, ["/actionedItem/data/text"]),
        ({"actionedItem": {"id": "p", "typeId": "post"}}, ["/actionedItem/data"]),
        ({"appealedAt": None}, ["/appealedAt"]),
    ],
)
def test_invalid_appeals_are_400_with_pointers(api, catalog, overrides, pointers):
    response = api.post(APPEAL, appeal_body(**overrides))
    assert response.status_code == 400
    assert [e["pointer"] for e in response.json()["errors"]] == pointers
    assert_nothing_stored()
