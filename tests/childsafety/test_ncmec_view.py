"""The NCMEC job view (review.md, NCMEC): reached through Start Reviewing of the NCMEC queue,
every media item with wellness applied, the classification and annotations, the thread
messages, the incident type; Submit to NCMEC and Ignore checked on the server (media review
requirement, 3000-character limits, known values), nothing half-written; visible only with
VIEW_CHILD_SAFETY_DATA."""

from __future__ import annotations

import pytest
from django.db import transaction

from childsafety.conftest import IMG, enable_reporting, store
from coop.accounts.permissions import PREDEFINED_ROLES
from coop.childsafety.jobs import case_for, enqueue_user
from coop.childsafety.models import NcmecReport
from coop.config.services import save_object
from coop.core.items import ItemRef
from coop.review.claims import claim_next
from coop.review.models import Decision, Job, JobSource, JobStatus
from factories import queue, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(ncmec_queue, people):
    """u-1's NCMEC job (three media, one thread of two messages), claimed by cs."""
    store("p-1", images=[f"{IMG}a.jpg", f"{IMG}b.jpg"], thread="t-1")
    store("p-2", video=f"{IMG}v.mp4")
    store("m-1", "message", text="reply", author="u-2", thread="t-1")
    with transaction.atomic():
        job = enqueue_user(ItemRef("p-1", "post"), JobSource.RULE)
    assert claim_next(ncmec_queue, people["cs"]).pk == job.pk
    return job


def snapshot():
    return (
        list(Job.objects.order_by("pk").values_list("pk", "status", "lease_owner")),
        Decision.objects.count(),
        NcmecReport.objects.count(),
    )


def submit(client, job, **fields):
    data = {"decision": "submit", "version": str(case_for(job).version)}
    data.update(fields)
    return client.post(f"/jobs/{job.pk}/ncmec", data)


THREAD = {"id": "t-1", "typeId": "thread"}
ALL_CLASSIFIED = {
    "media-0-classification": "A1",
    "media-0-annotations": ["infant", "viral"],
    "media-1-classification": "NONE",
    "media-2-classification": "B2",
    "incident_type": "CHILD_PORNOGRAPHY",
}


def test_start_reviewing_leads_to_the_ncmec_job_view(client, job, people, ncmec_queue):
    client.force_login(people["cs"])
    response = client.post("/queues/ncmec/review")
    assert response["Location"] == f"/jobs/{job.pk}"
    page = client.get(f"/jobs/{job.pk}").content.decode()
    assert "NCMEC review: User" in page
    for url in ("a.jpg", "b.jpg", "v.mp4"):
        assert f"{IMG}{url}" in page
    assert page.count("data-media-card") == 3
    # Each card through the wellness media template (the thread shows p-1's images too).
    assert page.count('class="wellness wellness--') == 5
    assert page.count('name="media-0-annotations"') == 10
    assert page.count('name="incident_type"') == 8
    assert 'value="0:0"' in page  # p-1, the first message of thread t-1
    assert "Submit to NCMEC" in page
    assert "Ignore" in page


def test_submit_files_the_report_in_the_decisions_transaction(client, job, people):
    enable_reporting()
    client.force_login(people["cs"])
    response = submit(
        client,
        job,
        **ALL_CLASSIFIED,
        message=["0:1", "0:0"],
        escalate="  ongoing abuse  ",
        additional_info="See the linked thread.",
        reason="clear case",
    )
    assert response.status_code == 302
    report = NcmecReport.objects.get()
    assert report.draft == {
        "user": {"id": "u-1", "typeId": "user"},
        "incidentType": "Child Pornography (possession, manufacture, and distribution)",
        "media": [
            {
                "item": {"id": "p-1", "typeId": "post"},
                "url": f"{IMG}a.jpg",
                "classification": "A1",
                "annotations": ["viral", "infant"],  # CyberTip's order, not the form's
            },
            {
                "item": {"id": "p-2", "typeId": "post"},
                "url": f"{IMG}v.mp4",
                "classification": "B2",
                "annotations": [],
            },
        ],
        "messages": [
            {"thread": THREAD, "message": {"id": "m-1", "typeId": "message"}},
            {"thread": THREAD, "message": {"id": "p-1", "typeId": "post"}},
        ],
        "escalateReason": "ongoing abuse",
        "additionalInfo": "See the linked thread.",
        "extra": {},
    }  # fmt: skip
    assert (report.job_id, report.reviewer, report.is_test) == (job.pk, people["cs"], True)
    job.refresh_from_db()
    assert job.status == JobStatus.DECIDED
    decision = Decision.objects.get(job=job)
    assert decision.types == ["NCMEC_REPORT"]
    assert decision.reason == "clear case"
    assert decision.components[0]["reportId"] == str(report.pk)
    assert (decision.components[0]["mediaCount"], decision.components[0]["messageCount"]) == (2, 2)


def test_ignore_closes_without_a_report(client, job, people):
    client.force_login(people["cs"])
    response = client.post(f"/jobs/{job.pk}/ncmec", {"decision": "ignore", "version": "1"})
    assert response.status_code == 302
    assert not NcmecReport.objects.exists()
    assert Decision.objects.get(job=job).types == ["IGNORE"]
    assert Job.objects.get(pk=job.pk).status == JobStatus.DECIDED


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"media-0-classification": "C3"}, 400, "choose A1, A2, B1, B2 or Not relevant"),
        ({"media-0-annotations": ["gore"]}, 400, "is not a file annotation"),
        ({"media-1-classification": "", "media-1-annotations": ["viral"]}, 400, "go with an"),
        ({"incident_type": "SPAM"}, 400, "Choose the incident type"),
        ({"escalate": "x" * 3001}, 400, "at most 3,000 characters"),
        ({"additional_info": "y" * 3001}, 400, "at most 3,000 characters"),
        ({"escalate": "   "}, 400, "cannot be blank"),
        ({"message": ["9:9"]}, 400, "is not one of the messages shown"),
        ({"media-2-classification": ""}, 400, "requires every media item (3)"),
        ({"decision": "maybe"}, 400, "Choose Submit to NCMEC or Ignore"),
        ({"version": "0"}, 422, "since the page was loaded"),
    ],
)
def test_the_server_refuses_bad_values_and_writes_nothing(
    client, job, people, fields, status, message
):
    enable_reporting()
    client.force_login(people["cs"])
    case_for(job)
    before = snapshot()
    response = submit(client, job, **{**ALL_CLASSIFIED, **fields})
    assert response.status_code == status
    assert message in response.content.decode()
    assert snapshot() == before


def test_the_minimum_requirement_and_something_to_report(client, job, people):
    enable_reporting(mediaReview={"mode": "MINIMUM", "count": 2})
    client.force_login(people["cs"])
    one = {"media-0-classification": "NONE", "incident_type": "CHILD_SEX_TRAFFICKING"}
    response = submit(client, job, **one)
    assert response.status_code == 400
    assert "requires at least 2 of the 3 media items" in response.content.decode()
    two = {**one, "media-1-classification": "NONE"}
    response = submit(client, job, **two)
    assert response.status_code == 400
    assert "Nothing to report" in response.content.decode()
    response = submit(client, job, **two, message=["0:1"])  # a text-only report
    assert response.status_code == 302
    assert NcmecReport.objects.get().draft["media"] == []


def test_submit_is_refused_while_reporting_is_not_enabled(client, job, people):
    client.force_login(people["cs"])
    before = snapshot()
    response = submit(client, job, **ALL_CLASSIFIED)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Reporting to NCMEC is not enabled" in page
    assert "the CyberTip username" in page
    assert snapshot() == before
    # Ignore stays possible.
    assert (
        client.post(f"/jobs/{job.pk}/ncmec", {"decision": "ignore", "version": "1"}).status_code
        == 302
    )


def test_new_entries_since_the_page_loaded_refuse_the_submission(client, job, people):
    enable_reporting()
    client.force_login(people["cs"])
    version = case_for(job).version
    store("p-3", images=[f"{IMG}c.jpg"])
    with transaction.atomic():
        enqueue_user(ItemRef("p-3", "post"), JobSource.API)
    response = submit(client, job, **ALL_CLASSIFIED, version=str(version))
    assert response.status_code == 422
    assert "review the updated list" in response.content.decode()
    assert f"{IMG}c.jpg" in response.content.decode()  # the page shows the new list
    assert not NcmecReport.objects.exists()


def test_only_the_lease_holder_or_a_manager_decides(client, job, people):
    enable_reporting()
    client.force_login(people["cs2"])  # a reviewer of the queue, not holding the job
    before = snapshot()
    assert submit(client, job, **ALL_CLASSIFIED).status_code == 403
    assert snapshot() == before
    client.force_login(people["manager"])  # EDIT_MRT_QUEUES takes it over
    assert submit(client, job, **ALL_CLASSIFIED).status_code == 302
    assert submit(client, job, **ALL_CLASSIFIED).status_code == 409  # already decided


def test_review_decisions_do_not_apply_to_ncmec_jobs(client, job, people):
    """Only Submit to NCMEC or Ignore close an NCMEC job: no actions, no move."""
    queue("other")
    client.force_login(people["cs"])
    before = snapshot()
    response = client.post(f"/jobs/{job.pk}/decide", {"move_to_queue": "other", "queue": "ncmec"})
    assert response.status_code == 422
    assert "closed with Submit to NCMEC or Ignore" in response.content.decode()
    assert snapshot() == before


# Visibility, for each role of accounts.md ------------------------------------------------

CHILD_SAFETY_ROLES = {"Admin", "Moderator Manager", "Child Safety Moderator"}


@pytest.mark.parametrize("role", sorted(PREDEFINED_ROLES))
def test_only_child_safety_roles_see_ncmec_jobs_and_decisions(client, job, people, role):
    enable_reporting()
    client.force_login(people["cs"])
    assert submit(client, job, **ALL_CLASSIFIED, reason="SECRET-REASON").status_code == 302
    with transaction.atomic():
        store("p-9", author="u-9", images=[f"{IMG}z.jpg"])
        pending = enqueue_user(ItemRef("p-9", "post"), JobSource.RULE)
    viewer = user(f"viewer-{role.lower().replace(' ', '-')}@example.com", role)
    client.force_login(viewer)
    sees = role in CHILD_SAFETY_ROLES
    page = client.get(f"/jobs/{pending.pk}")
    assert page.status_code == (200 if sees else 403)
    queues = client.get("/queues")
    if queues.status_code == 200:
        assert ("NCMEC review" in queues.content.decode()) == (
            sees and viewer.has_permission("EDIT_MRT_QUEUES")
        )
    decisions = client.get("/decisions")
    if decisions.status_code == 200:
        assert ("SECRET-REASON" in decisions.content.decode()) == sees
        csv = b"".join(client.get("/decisions.csv").streaming_content).decode()
        assert ("SECRET-REASON" in csv) == sees
    overview = client.get("/", follow=True).content.decode()
    assert ("user/u-9" in overview) == sees
    if not sees:
        decide = client.post(f"/jobs/{pending.pk}/ncmec", {"decision": "ignore", "version": "1"})
        assert decide.status_code == 403
        assert Job.objects.get(pk=pending.pk).status == JobStatus.PENDING


def test_a_reviewer_without_the_permission_cannot_be_added_to_the_ncmec_queue(ncmec_queue, people):
    result = save_object(
        "queues",
        {"id": "ncmec", "name": "NCMEC review", "reviewers": ["cs@example.com", "mod@example.com"]},
    )
    assert [(e.path, e.message) for e in result.errors] == [
        (
            "reviewers[1]",
            "only users with the VIEW_CHILD_SAFETY_DATA permission may review the NCMEC queue; "
            "mod@example.com does not have it",
        )
    ]
