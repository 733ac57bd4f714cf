"""The NCMEC Reports page (review.md, NCMEC): filed reports with their XML and receipt,
in-progress ones with their step, failed ones with the failing step, the error and Retry; the
report page's step log; who may see them (VIEW_CHILD_SAFETY_DATA, accounts.md's role table);
and the notice a reviewer sees while a report of theirs is failed."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.urls import reverse

from childsafety import cybertip_world as world
from childsafety.cybertip_world import drive
from coop.accounts.permissions import PREDEFINED_ROLES
from coop.childsafety import submission
from coop.childsafety.models import NcmecReport
from coop.childsafety.reporting import start_report
from coop.testing.fake_cybertip import FakeCyberTip
from factories import user
from media.server import MediaHost, serve

# accounts.md: the roles with VIEW_CHILD_SAFETY_DATA.
CHILD_SAFETY_ROLES = {"Admin", "Moderator Manager", "Child Safety Moderator"}


@pytest.fixture
def reports(db, settings):
    """A filed report, a failed one (at its second media upload) and one waiting to start."""
    settings.COOP_NCMEC_RETRY_SCHEDULE = []
    reviewer = user("cs@example.com", "Child Safety Moderator")
    with FakeCyberTip(world.USERNAME, world.PASSWORD) as fake, MediaHost() as media:
        settings.NCMEC_CYBERTIP_URL = fake.url
        media.routes["/photos/beach%20day.jpg"] = serve(world.image(1), "image/jpeg")
        media.routes["/photos/2.jpg"] = serve(world.image(2), "image/jpeg")
        world.items(media.url)
        world.ncmec_settings()
        filed = drive(start_report(world.draft(media.url), reviewer))
        fake.fail("/upload", status=200, code=1110, description="Upload failed <b>here</b>")
        failed = start_report(world.draft(media.url, messages=False), reviewer)
        failed = drive(failed)
    waiting = start_report(world.draft(media.url, media=1), reviewer)
    assert (filed.status, failed.status) == ("SUBMITTED", "FAILED")
    return {"filed": filed, "failed": failed, "waiting": waiting, "reviewer": reviewer}


def test_the_list_shows_each_report_where_it_is(client, reports):
    client.force_login(reports["reviewer"])
    response = client.get(reverse("ncmec"))
    assert response.status_code == 200
    html = response.content.decode()
    filed, failed, waiting = reports["filed"], reports["failed"], reports["waiting"]
    # Filed: its NCMEC id and the link to its XML and receipt.
    assert f"<code>{filed.report_id}</code>" in html
    assert reverse("ncmec-report", args=[filed.pk]) + "#report-xml" in html
    # Failed: the step, the error (escaped: it came from NCMEC) and Retry.
    assert "<strong>Failed at:</strong> Upload media 1 of 2 (/upload)" in html
    assert "Upload failed &lt;b&gt;here&lt;/b&gt;" in html
    assert "<b>here</b>" not in html
    assert reverse("ncmec-report-retry", args=[failed.pk]) in html
    assert reverse("ncmec-report-retry", args=[filed.pk]) not in html
    # Waiting: the step it will start with.
    assert "Ask the platform for additional info" in html
    assert html.count("NCMEC test") == 3  # NCMEC_ENV is not production in the tests
    assert html.index(str(waiting.pk)) < html.index(str(failed.pk)) < html.index(str(filed.pk))


@pytest.mark.parametrize(
    ("shown", "expected"),
    [("failed", "failed"), ("submitted", "filed"), ("in-progress", "waiting")],
)
def test_the_list_filters_by_status(client, reports, shown, expected):
    client.force_login(reports["reviewer"])
    html = client.get(reverse("ncmec"), {"status": shown}).content.decode()
    for name in ("filed", "failed", "waiting"):
        assert (reverse("ncmec-report", args=[reports[name].pk]) in html) is (name == expected)


def test_the_report_page_has_the_step_log_the_xml_and_the_receipt(client, reports):
    client.force_login(reports["reviewer"])
    filed = reports["filed"]
    html = client.get(reverse("ncmec-report", args=[filed.pk])).content.decode()
    assert f"CyberTip report {filed.report_id}" in html
    for label in (
        "Build the report XML",
        "Open the report at NCMEC (/submit)",
        "Download media 2 of 2",
        "Describe conversation 1 of 1 (/fileinfo)",
        "File the report with NCMEC (/finish)",
    ):
        assert label in html
    assert "&lt;incidentType&gt;Child Pornography" in html  # the XML, escaped and indented
    assert "&lt;reportDoneResponse&gt;" in html
    assert "fileDetails XML of beach day.jpg" in html
    assert "Retry" not in html


def test_the_failed_report_page_says_what_failed_and_offers_retry(client, reports):
    client.force_login(reports["reviewer"])
    failed = reports["failed"]
    html = client.get(reverse("ncmec-report", args=[failed.pk])).content.decode()
    assert "Failed at: Upload media 1 of 2 (/upload)" in html
    assert "responseCode 1110" in html
    assert 'role="alert"' in html
    assert world.PASSWORD not in html


def _jobs() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args FROM procrastinate_jobs WHERE task_name = %s", [submission.TASK]
        )
        return [json.loads(args) for (args,) in cursor.fetchall()]


def test_retry_resumes_a_failed_report(client, reports):
    client.force_login(reports["reviewer"])
    failed = reports["failed"]
    before = _jobs().count({"report_id": str(failed.pk)})
    response = client.post(reverse("ncmec-report-retry", args=[failed.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("ncmec-report", args=[failed.pk])
    assert "filing the report again from the step that failed" in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.step, failed.error) == ("QUEUED", "upload-media", "")
    assert _jobs().count({"report_id": str(failed.pk)}) == before + 1


def test_retry_of_a_filed_report_does_nothing(client, reports):
    client.force_login(reports["reviewer"])
    filed = reports["filed"]
    response = client.post(reverse("ncmec-report-retry", args=[filed.pk]), follow=True)
    assert "nothing to retry" in response.content.decode()
    filed.refresh_from_db()
    assert filed.status == "SUBMITTED"


def test_retry_needs_post_and_an_existing_report(client, reports):
    client.force_login(reports["reviewer"])
    assert client.get(reverse("ncmec-report-retry", args=[reports["failed"].pk])).status_code == 405
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(reverse("ncmec-report", args=[missing])).status_code == 404
    assert client.post(reverse("ncmec-report-retry", args=[missing])).status_code == 404


@pytest.mark.parametrize("role", sorted(PREDEFINED_ROLES))
def test_only_child_safety_roles_see_reports_or_retry_them(client, reports, role):
    client.force_login(user(f"{role.replace(' ', '.')}@example.com", role))
    failed = reports["failed"]
    allowed = role in CHILD_SAFETY_ROLES
    expected = 200 if allowed else 403
    assert client.get(reverse("ncmec")).status_code == expected
    assert client.get(reverse("ncmec-report", args=[failed.pk])).status_code == expected
    response = client.post(reverse("ncmec-report-retry", args=[failed.pk]))
    assert response.status_code == (302 if allowed else 403)
    failed.refresh_from_db()
    assert failed.status == ("QUEUED" if allowed else "FAILED")


def test_the_reviewer_sees_a_notice_on_every_page_until_the_report_is_retried(client, reports):
    notice = "A CyberTip report you submitted could not be filed."
    client.force_login(reports["reviewer"])
    for url in (reverse("account"), reverse("ncmec"), reverse("queues")):
        html = client.get(url).content.decode()
        assert notice in html, url
        assert reverse("ncmec") + "?status=failed" in html
    other = user("other@example.com", "Child Safety Moderator")
    client.force_login(other)
    assert notice not in client.get(reverse("account")).content.decode()
    client.force_login(reports["reviewer"])
    submission.retry(reports["failed"].pk)
    assert notice not in client.get(reverse("account")).content.decode()
    assert NcmecReport.objects.filter(status="FAILED").count() == 0
