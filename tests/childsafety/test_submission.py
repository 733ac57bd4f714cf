"""Filing CyberTip reports end to end (review.md, NCMEC): the worker's state machine against the
fake CyberTip server and a local platform answering the additional-info and preservation
webhooks. The fake validates every XML body against the XSD's sequences."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import xml.etree.ElementTree as ET

import pytest
from django.db import connection

from childsafety import cybertip_world as world
from childsafety.cybertip_world import Platform, drive
from coop.catalog.credentials import encrypt_credential
from coop.childsafety import submission
from coop.childsafety.models import NcmecReport, NcmecReportStep
from coop.childsafety.notifications import email_on_call
from coop.childsafety.reporting import start_report
from coop.config.services import save_object
from coop.core.enums import DeliveryStatus
from coop.enforcement.models import Delivery
from coop.enforcement.services import encode_body
from coop.enforcement.tasks import deliver
from coop.signals.hashing import hash_image
from coop.testing.fake_cybertip import FakeCyberTip
from factories import post, queue, rule_job, user
from media.server import MediaHost, serve, status

PHOTO_1, PHOTO_2 = world.image(1), world.image(2)


@pytest.fixture
def fake(settings):
    with FakeCyberTip(world.USERNAME, world.PASSWORD) as server:
        settings.NCMEC_CYBERTIP_URL = server.url
        yield server
    server.check()


@pytest.fixture
def media():
    with MediaHost() as host:
        host.routes["/photos/beach%20day.jpg"] = serve(PHOTO_1, "image/jpeg")
        host.routes["/photos/2.jpg"] = serve(PHOTO_2, "image/jpeg")
        yield host


@pytest.fixture
def platform(db):
    with Platform() as server:
        yield server
    assert server.requests, "the platform was never called"


@pytest.fixture
def reviewer(db):
    return user("cs@example.com", "Child Safety Moderator")


@pytest.fixture(autouse=True)
def _no_waiting(settings):
    settings.COOP_NCMEC_RETRY_SCHEDULE = []  # failures stop at once unless a test says so


@pytest.fixture
def world_items(db, media):
    world.items(media.url)


def configure(platform: Platform | None = None, **overrides) -> None:
    if platform is not None:
        overrides.setdefault("additionalInfoEndpoint", platform.url + Platform.ADDITIONAL_INFO)
        overrides.setdefault("preservationEndpoint", platform.url + Platform.PRESERVE)
    world.ncmec_settings(**overrides)


def start(host: MediaHost, reviewer, **draft_options) -> NcmecReport:
    return start_report(world.draft(host.url, **draft_options), reviewer)


def steps(report: NcmecReport) -> list[tuple[str, str]]:
    return [(s.step, s.status) for s in NcmecReportStep.objects.filter(report=report)]


def failed_step(report: NcmecReport) -> NcmecReportStep:
    return NcmecReportStep.objects.filter(report=report, status="FAILED").order_by("-id").first()


def parse(xml: bytes | str) -> ET.Element:
    return ET.fromstring(xml if isinstance(xml, bytes) else xml.encode())  # noqa: S314 - Coop's own


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def jobs(task: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args, scheduled_at, status FROM procrastinate_jobs WHERE task_name = %s "
            "ORDER BY id",
            [task],
        )
        return [
            {"args": json.loads(a), "scheduled_at": s, "status": st}
            for a, s, st in cursor.fetchall()
        ]


# --- the whole report -------------------------------------------------------------------------


def test_a_full_report_with_media_and_a_thread(fake, media, platform, world_items, reviewer):
    configure(platform)
    report = start(media, reviewer)
    assert jobs(submission.TASK)[0]["args"] == {"report_id": str(report.pk)}  # deferred with it
    report = drive(report)

    assert report.status == "SUBMITTED", (report.error, steps(report), fake.violations)
    assert report.step == submission.Step.DONE
    (filed,) = fake.finished()
    assert report.report_id == filed.report_id
    assert fake.endpoints() == [
        "/submit",
        "/upload",
        "/fileinfo",
        "/upload",
        "/fileinfo",
        "/upload",
        "/fileinfo",
        "/finish",
    ]
    assert fake.violations == []
    assert all(call.outcome == "ok" for call in fake.calls)

    # The additional-info request: signed, sorted JSON, the documented body.
    (asked,) = platform.to(Platform.ADDITIONAL_INFO)
    assert asked.headers["coop-event"] == "ncmec-additional-info"
    assert asked.headers["content-type"] == "application/json"
    assert asked.headers["coop-delivery-id"]
    expected_request = {
        "media": [
            {**world.POST_1.as_wire(), "url": f"{media.url}/photos/beach%20day.jpg"},
            {**world.POST_2.as_wire(), "url": f"{media.url}/photos/2.jpg"},
        ],
        "messages": [world.MESSAGE_1.as_wire(), world.MESSAGE_2.as_wire()],
        "users": [world.USER.as_wire()],
    }
    assert asked.body == encode_body(expected_request)

    # The report XML, in the XSD's order, with what the platform and the item roles said.
    xml = parse(filed.xml)
    assert report.report_xml.encode() == filed.xml
    assert children(xml) == [
        "incidentSummary",
        "internetDetails",
        "reporter",
        "personOrUserReported",
        "additionalInfo",
    ]
    summary = xml.find("incidentSummary")
    assert children(summary) == ["incidentType", "escalateToHighPriority", "incidentDateTime"]
    assert summary.findtext("escalateToHighPriority") == "Ongoing abuse"
    # The latest of the media and messages' times.
    assert summary.findtext("incidentDateTime") == "2026-05-03T09:00:00Z"
    assert xml.findtext("internetDetails/webPageIncident/url") == "https://example.com/about"
    reporter = xml.find("reporter")
    assert children(reporter) == [
        "reportingPerson",
        "contactPerson",
        "companyTemplate",
        "termsOfService",
        "legalURL",
    ]
    assert children(reporter.find("contactPerson")) == ["firstName", "lastName", "phone", "email"]
    person = xml.find("personOrUserReported")
    assert children(person) == [
        "personOrUserReportedPerson",
        "espIdentifier",
        "espService",
        "screenName",
        "displayName",
        "ipCaptureEvent",
        "ipCaptureEvent",
    ]
    email = person.find("personOrUserReportedPerson/email")
    assert email.text == "sam.private@example.net"
    assert email.attrib == {
        "type": "Home",
        "verified": "true",
        "verificationDate": "2024-02-01T00:00:00Z",
    }
    assert person.findtext("screenName") == "sam_2009"
    assert person.findtext("displayName") == "Sam S."
    login, role_ip = person.findall("ipCaptureEvent")
    assert [(e.tag, e.text) for e in login] == [
        ("ipAddress", "203.0.113.9"),
        ("eventName", "Login"),
        ("dateTime", "2026-05-01T09:59:00Z"),
        ("possibleProxy", "false"),
        ("port", "443"),
    ]
    assert [(e.tag, e.text) for e in role_ip] == [
        ("ipAddress", "198.51.100.7"),
        ("eventName", "Unknown"),
    ]
    assert xml.findtext("additionalInfo") == (
        "Reported by a parent.\n\nThe account was created in 2024."
    )

    # The files: both photos as served, then the conversation's CSV.
    first, second, conversation = filed.files.values()
    assert (first.content, first.name) == (PHOTO_1, "original-0.jpg")
    assert first.md5 == hashlib.md5(PHOTO_1, usedforsecurity=False).hexdigest()
    assert second.content == PHOTO_2
    details = parse(first.details[0])
    assert children(details) == [
        "reportId",
        "fileId",
        "originalFileName",
        "fileViewedByEsp",
        "publiclyAvailable",
        "fileRelevance",
        "fileAnnotations",
        "industryClassification",
        "originalFileHash",
        "ipCaptureEvent",
        "additionalInfo",
        "additionalInfo",
    ]
    assert details.findtext("reportId") == filed.report_id
    # The annotations in the XSD's order, not the order the reviewer ticked them.
    assert children(details.find("fileAnnotations")) == ["viral", "generativeAi"]
    assert details.findtext("industryClassification") == "A2"
    assert details.find("originalFileHash").attrib == {"hashType": "PDQ"}
    assert details.findtext("originalFileHash") == hash_image(PHOTO_1).hash
    assert details.findtext("ipCaptureEvent/ipAddress") == "203.0.113.10"
    assert [e.text for e in details.findall("additionalInfo")] == [
        "Posted in a private album",
        "Also associated with IP address 203.0.113.11, port 8080, Upload",
    ]
    assert details.findtext("exifViewedByEsp") is None  # Coop's reviewers do not see EXIF

    assert conversation.name == "conversation-thread-t-1.csv"
    rows = list(csv.reader(io.StringIO(conversation.content.decode())))
    assert rows[0] == list(submission.report_content.CSV_COLUMNS)
    # Oldest first; a value that a spreadsheet would run as a formula is defused.
    assert [r[1] for r in rows[1:]] == ["m-2", "m-1"]
    assert rows[1][6] == 'say "hi"'
    assert rows[2][6] == '\'=HYPERLINK("http://x")'
    assert rows[2][8] == "192.0.2.44:5000"
    assert conversation.content.startswith(b'"sentAt","messageId"')
    assert parse(conversation.details[0]).findtext("fileRelevance") == "Reported"

    # The receipt, and the step log.
    assert "<reportDoneResponse>" in report.receipt
    assert report.submitted_at is not None
    assert [s for s in steps(report) if s[1] != "DONE"] == []
    assert [s[0] for s in steps(report)] == [
        "additional-info",
        "build-xml",
        "submit",
        "fetch-media",
        "upload-media",
        "media-details",
        "fetch-media",
        "upload-media",
        "media-details",
        "upload-thread",
        "thread-details",
        "finish",
        "preservation",
    ]

    # Preservation: a signed webhook in the outbox, sent by the delivery task.
    delivery = report.preservation
    assert delivery.event == "ncmec-preservation"
    deliver([str(delivery.pk)])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    (preserve,) = platform.to(Platform.PRESERVE)
    assert preserve.headers["coop-event"] == "ncmec-preservation"
    assert preserve.json() == {
        "isTest": True,
        "reportId": filed.report_id,
        "reportedMedia": expected_request["media"],
        "reportedMessages": expected_request["messages"],
        "user": world.USER.as_wire(),
    }


def test_unknown_values_are_left_out_not_sent_empty(fake, media, world_items, reviewer):
    """No additional-info endpoint and a user with no roles filled: no <screenName/>, no empty
    person, nothing the XSD's validator calls empty."""
    world.submit(world.USER, {})
    configure(
        defaultInternetDetailType=None,
        contactPerson={},
        termsOfService=None,
        moreInfoUrl=None,
    )
    report = drive(start(media, reviewer, media=1, messages=False))
    assert report.status == "SUBMITTED"
    assert fake.violations == []
    xml = parse(fake.finished()[0].xml)
    assert children(xml) == [
        "incidentSummary",
        "reporter",
        "personOrUserReported",
        "additionalInfo",
    ]
    assert children(xml.find("reporter")) == ["reportingPerson", "companyTemplate", "legalURL"]
    assert children(xml.find("personOrUserReported")) == ["espIdentifier", "espService"]
    assert steps(report)[0] == ("additional-info", "SKIPPED")
    assert steps(report)[-1] == ("preservation", "SKIPPED")
    details = parse(next(iter(fake.finished()[0].files.values())).details[0])
    assert details.findtext("originalFileName") == "beach day.jpg"  # from the URL
    assert details.findtext("ipCaptureEvent/ipAddress") == "198.51.100.8"  # the post's role
    assert details.findtext("ipCaptureEvent/eventName") == "Upload"
    assert details.findtext("ipCaptureEvent/dateTime") == "2026-05-01T10:00:00Z"


def test_prior_reports_are_the_users_earlier_ones_in_the_same_environment(
    fake, media, world_items, reviewer, settings
):
    configure()
    first = drive(start(media, reviewer, media=1, messages=False))
    settings.NCMEC_ENV = "production"  # a production report does not count for test ones
    drive(start(media, reviewer, media=1, messages=False))
    settings.NCMEC_ENV = "test"
    third = drive(start(media, reviewer, media=1, messages=False))
    priors = parse(third.report_xml).findall("personOrUserReported/priorCTReports")
    assert [p.text for p in priors] == [first.report_id]
    assert parse(first.report_xml).find("personOrUserReported/priorCTReports") is None


# --- failures and Retry -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "step", "label"),
    [
        ("/submit", "submit", "Open the report at NCMEC (/submit)"),
        ("/upload", "upload-media", "Upload media 1 of 2 (/upload)"),
        ("/fileinfo", "media-details", "Describe media 1 of 2 (/fileinfo)"),
        ("/finish", "finish", "File the report with NCMEC (/finish)"),
    ],
)
def test_a_failed_step_stops_the_report_and_retry_resumes_there(
    fake, media, platform, world_items, reviewer, endpoint, step, label
):
    configure(platform)
    fake.fail(endpoint, status=200, code=1000, description="Server error")
    report = drive(start(media, reviewer))
    assert report.status == "FAILED"
    assert report.step == step
    failed = failed_step(report)
    assert (failed.step, failed.label) == (step, label)
    assert "responseCode 1000 (Server error)" in report.error
    assert jobs("coop.ncmec_notify")[0]["args"] == {"report_id": str(report.pk), "reason": "failed"}
    opened = [r.report_id for r in fake.reports.values()]

    submission.retry(report.pk)
    report.refresh_from_db()
    assert (report.status, report.error) == ("QUEUED", "")
    report = drive(report)
    assert report.status == "SUBMITTED"
    (filed,) = fake.finished()
    assert [r.report_id for r in fake.reports.values()] == (opened or [filed.report_id])
    assert "/retract" not in fake.endpoints()
    # Resumed at the failed step: what came before it ran once.
    assert [s[0] for s in steps(report)].count("additional-info") == 1
    assert [s[0] for s in steps(report)].count("build-xml") == 1
    assert len(platform.to(Platform.ADDITIONAL_INFO)) == 1


def test_a_failed_additional_info_call_resumes_there(fake, media, platform, world_items, reviewer):
    configure(platform)
    platform.answers[Platform.ADDITIONAL_INFO] = [(503, b"busy")]
    report = drive(start(media, reviewer))
    assert (report.status, report.step) == ("FAILED", "additional-info")
    assert "answered HTTP 503" in report.error
    assert fake.calls == []
    submission.retry(report.pk)
    assert drive(report).status == "SUBMITTED"


def test_passing_failures_are_retried_with_backoff_a_bounded_number_of_times(
    fake, media, world_items, reviewer, settings
):
    configure()
    settings.COOP_NCMEC_RETRY_SCHEDULE = [30, 60]
    fake.fail("/upload", status=503, times=5)  # no readable answer: may have been stored
    fake.fail("/submit", status=200, code=1100, description="Save failed")
    report = start(media, reviewer, media=1, messages=False)
    submission.run(str(report.pk))
    report.refresh_from_db()
    assert report.status == "QUEUED"
    assert "Coop tries again at" in report.error
    assert "automatic retry 1 of 2" in report.error
    retry_job = jobs(submission.TASK)[-1]
    assert retry_job["status"] == "todo"
    assert abs((retry_job["scheduled_at"] - report.next_attempt_at).total_seconds()) < 1
    submission.run(str(report.pk))  # the task for now finds nothing due yet
    assert fake.endpoints() == ["/submit"]

    settings.COOP_NCMEC_RETRY_SCHEDULE = [0, 0]
    report.next_attempt_at = None
    report.retries = 0
    report.save()
    report = drive(report)
    assert report.status == "FAILED"
    assert report.retries == 2
    # An unreadable /upload answer: retracted and filed again, until the report's automatic
    # retries ran out (and the last open report is retracted too).
    assert fake.endpoints().count("/upload") == 3  # the first try and 2 automatic retries
    assert fake.finished() == []
    assert [r.state for r in fake.reports.values()] == ["retracted"] * 3
    assert (report.needs_retract, report.report_id) == (False, "")


def test_an_unanswered_upload_retracts_the_report_before_filing_it_again(
    fake, media, platform, world_items, reviewer, settings
):
    configure(platform)
    settings.COOP_NCMEC_RETRY_SCHEDULE = [0]
    fake.fail("/upload", close=True, processed=True)  # NCMEC stored it; the answer was lost
    report = drive(start(media, reviewer))
    assert report.status == "SUBMITTED"
    first, second = fake.reports.values()
    assert (first.state, len(first.files)) == ("retracted", 1)
    assert (second.state, len(second.files)) == ("finished", 3)
    assert report.retracted_report_ids == [first.report_id]
    assert report.report_id == second.report_id
    endpoints = fake.endpoints()
    assert endpoints.index("/retract") < endpoints.index("/submit", 1)
    assert report.attempt == 2
    log = steps(report)
    assert ("upload-media", "FAILED") in log
    assert log[log.index(("upload-media", "FAILED")) + 1] == ("retract", "DONE")
    assert [s[0] for s in log].count("build-xml") == 1  # the same XML, filed again


def test_an_unanswered_submit_is_not_sent_again_by_itself(
    fake, media, world_items, reviewer, settings
):
    configure()
    settings.COOP_NCMEC_RETRY_SCHEDULE = [0, 0, 0]
    fake.fail("/submit", close=True, processed=True)
    report = drive(start(media, reviewer, media=1, messages=False))
    assert (report.status, report.step) == ("FAILED", "submit")
    assert fake.endpoints() == ["/submit"]
    assert "does not send /submit again by itself" in report.error
    submission.retry(report.pk)
    report = drive(report)
    assert report.status == "SUBMITTED"
    orphan, filed = fake.reports.values()
    assert (orphan.state, filed.state) == ("open", "finished")  # never finished: NCMEC drops it


def test_a_report_ncmec_no_longer_has_is_filed_again(fake, media, world_items, reviewer, settings):
    configure()
    settings.COOP_NCMEC_RETRY_SCHEDULE = [0]
    fake.fail("/fileinfo", status=200, code=5001, description="Report does not exist")
    report = drive(start(media, reviewer, media=1, messages=False))
    assert report.status == "SUBMITTED"
    assert (len(fake.reports), len(fake.finished())) == (2, 1)
    assert fake.endpoints().count("/retract") == 1


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("private", "private, loopback, link-local or reserved address"),
        ("too-large", "too large"),
    ],
)
def test_a_refused_media_fetch_shows_the_step_and_retracts_the_report(
    fake, media, world_items, reviewer, settings, setup, reason
):
    configure()
    settings.COOP_NCMEC_RETRY_SCHEDULE = [0, 0]
    if setup == "private":
        settings.COOP_FETCH_ALLOW_PRIVATE = False  # the media host is on 127.0.0.1
    else:
        settings.COOP_MEDIA_MAX_BYTES = 100
    report = drive(start(media, reviewer, media=1, messages=False))
    assert (report.status, report.step) == ("FAILED", "submit")
    failed = failed_step(report)
    assert (failed.step, failed.label) == ("fetch-media", "Download media 1 of 1")
    assert reason in failed.detail
    assert reason in report.error
    assert fake.endpoints() == ["/submit", "/retract"]  # not retried; nothing left open
    assert [r.state for r in fake.reports.values()] == ["retracted"]
    assert steps(report)[-1] == ("retract", "DONE")


def test_a_passing_media_failure_leaves_the_report_open_for_retry(
    fake, media, world_items, reviewer
):
    configure()
    media.routes["/photos/2.jpg"] = status(503)
    report = drive(start(media, reviewer, messages=False))
    assert (report.status, report.step) == ("FAILED", "upload-media")
    assert failed_step(report).label == "Download media 2 of 2"
    assert "HTTP 503" in report.error
    media.routes["/photos/2.jpg"] = serve(PHOTO_2, "image/jpeg")
    submission.retry(report.pk)
    report = drive(report)
    assert report.status == "SUBMITTED"
    (filed,) = fake.reports.values()
    assert [f.content for f in filed.files.values()] == [PHOTO_1, PHOTO_2]


def test_wrong_credentials_stop_at_submit_with_a_clear_error(fake, media, world_items, reviewer):
    configure(password=encrypt_credential("wrong"))
    report = drive(start(media, reviewer, media=1, messages=False))
    assert (report.status, report.step) == ("FAILED", "submit")
    assert "refused the NCMEC username or password (HTTP 401)" in report.error
    assert "wrong" not in report.error
    assert fake.reports == {}
    assert [c.outcome for c in fake.calls] == ["unauthorised"]


def test_reporting_not_enabled_stops_before_ncmec(fake, media, world_items, reviewer):
    fake.expect_no_calls()
    configure(legalUrl=None)
    report = drive(start(media, reviewer, media=1, messages=False))
    assert (report.status, report.step) == ("FAILED", "build-xml")
    assert "NCMEC reporting is not enabled" in report.error


# --- the additional-info contract -------------------------------------------------------------


def answer_with(change):
    def reply(request):
        answer = world.good_answer(request.json())
        change(answer)
        return 200, json.dumps(answer).encode()

    return reply


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ((200, b"not json"), "answered something that is not JSON"),
        ((404, b"{}"), "answered HTTP 404"),
        (answer_with(lambda a: a.pop("users")), "users: has no entry for the reported user"),
        (
            answer_with(lambda a: a["users"][0]["email"][0].pop("email")),
            "users[0].email[0].email: is required",
        ),
        (
            answer_with(lambda a: a["users"][0].update(screenName=7)),
            "users[0].screenName: must be a string",
        ),
        (
            answer_with(lambda a: a["users"][0]["ipCaptureEvent"][0].update(ipAddress="999")),
            "users[0].ipCaptureEvent[0].ipAddress: must be an IPv4 or IPv6 address",
        ),
        (
            answer_with(lambda a: a["users"][0]["ipCaptureEvent"][0].update(port=0)),
            "users[0].ipCaptureEvent[0].port: must be a port number from 1 to 65535",
        ),
        (
            answer_with(lambda a: a["users"][0]["ipCaptureEvent"][0].update(eventName="Nap")),
            "users[0].ipCaptureEvent[0].eventName: must be one of",
        ),
        (answer_with(lambda a: a["media"].pop()), "media: has no entry for post/p-2"),
        (answer_with(lambda a: a.update(media={})), "media: must be an array"),
    ],
)
def test_additional_info_contract_errors(
    fake, media, platform, world_items, reviewer, reply, message
):
    fake.expect_no_calls()
    configure(platform)
    platform.answers[Platform.ADDITIONAL_INFO] = [reply]
    report = drive(start(media, reviewer))
    assert (report.status, report.step) == ("FAILED", "additional-info")
    assert message in report.error
    assert report.error.startswith("The additional-info endpoint failed")


def test_missing_media_are_left_out(fake, media, platform, world_items, reviewer):
    configure(platform)

    def missing_second(answer):
        answer["media"][1]["missing"] = True

    platform.answers[Platform.ADDITIONAL_INFO] = [answer_with(missing_second)]
    report = drive(start(media, reviewer, messages=False))
    assert report.status == "SUBMITTED"
    (filed,) = fake.finished()
    assert [f.content for f in filed.files.values()] == [PHOTO_1]
    assert ("fetch-media", "SKIPPED") in steps(report)
    deliver([str(report.preservation_id)])
    (preserve,) = platform.to(Platform.PRESERVE)
    assert [m["id"] for m in preserve.json()["reportedMedia"]] == ["p-1"]


def test_every_media_missing_and_no_messages_files_nothing(
    fake, media, platform, world_items, reviewer
):
    fake.expect_no_calls()
    configure(platform)

    def all_missing(answer):
        for entry in answer["media"]:
            entry["missing"] = True

    platform.answers[Platform.ADDITIONAL_INFO] = [answer_with(all_missing)]
    report = drive(start(media, reviewer, messages=False))
    assert (report.status, report.step) == ("FAILED", "additional-info")
    assert "every reported media item is missing" in report.error


# --- preservation -----------------------------------------------------------------------------


def test_preservation_is_retried_until_it_succeeds_without_filing_again(
    fake, media, platform, world_items, reviewer, settings
):
    configure(platform)
    settings.COOP_DELIVERY_SCHEDULE = [0, 0, 0]
    platform.answers[Platform.PRESERVE] = [(503, b"{}"), (500, b"{}")]
    report = drive(start(media, reviewer, media=1, messages=False))
    assert report.status == "SUBMITTED"
    delivery = report.preservation
    for _ in range(3):
        delivery.refresh_from_db()
        delivery.next_attempt_at = None if delivery.status == "DELIVERED" else delivery.created_at
        delivery.save()
        deliver([str(delivery.pk)])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 3
    attempts = platform.to(Platform.PRESERVE)
    assert len(attempts) == 3
    assert len({a.headers["coop-delivery-id"] for a in attempts}) == 1
    assert len({a.body for a in attempts}) == 1
    assert (fake.endpoints().count("/submit"), fake.endpoints().count("/finish")) == (1, 1)
    report.refresh_from_db()
    assert report.status == "SUBMITTED"


def test_a_dead_preservation_request_alerts_once_and_retry_resends_it(
    fake, media, platform, world_items, reviewer, caplog
):
    configure(platform)
    platform.answers[Platform.PRESERVE] = [(400, b"{}")]  # a permanent refusal: dead
    report = drive(start(media, reviewer, media=1, messages=False))
    deliver([str(report.preservation_id)])
    assert Delivery.objects.get(pk=report.preservation_id).status == DeliveryStatus.DEAD
    submission.sweep()
    submission.sweep()
    alerts = [j for j in jobs("coop.ncmec_notify") if j["args"]["reason"] == "preservation-dead"]
    assert len(alerts) == 1
    with caplog.at_level(logging.INFO, logger="coop.mail"):
        email_on_call(**alerts[0]["args"])  # no on-call email set: logged, not sent
    assert "no on-call email is set" in caplog.text

    submission.retry(report.pk)
    delivery = Delivery.objects.get(pk=report.preservation_id)
    assert delivery.status == DeliveryStatus.PENDING
    deliver([str(delivery.pk)])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert fake.endpoints().count("/finish") == 1


# --- notifications and recovery ---------------------------------------------------------------


def test_a_failure_emails_the_on_call_address(fake, media, world_items, reviewer, caplog):
    assert save_object(
        "settings", {"organization": {"name": "Example", "onCallEmail": "oncall@example.com"}}
    ).ok
    configure()
    fake.fail("/finish", status=200, code=4000, description="Invalid request")
    report = drive(start(media, reviewer, media=1, messages=False))
    (job,) = jobs("coop.ncmec_notify")
    with caplog.at_level(logging.INFO, logger="coop.mail"):
        email_on_call(**job["args"])
    text = caplog.text
    assert "To: oncall@example.com" in text
    assert "Subject: A CyberTip report could not be filed" in text
    assert "File the report with NCMEC (/finish)" in text
    assert "responseCode 4000 (Invalid request)" in text
    assert f"/ncmec/{report.pk}" in text
    assert "cs@example.com" in text
    assert world.PASSWORD not in text


def test_the_sweep_redefers_a_report_whose_task_was_lost(fake, media, world_items, reviewer):
    configure()
    report = start(media, reviewer, media=1, messages=False)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
    NcmecReport.objects.filter(pk=report.pk).update(updated_at=report.created_at.replace(year=2020))
    submission.sweep()
    assert [j["args"] for j in jobs(submission.TASK)] == [{"report_id": str(report.pk)}]
    submission.sweep()  # a task is waiting now: nothing more
    assert len(jobs(submission.TASK)) == 1
    assert drive(report).status == "SUBMITTED"


def test_a_step_interrupted_by_a_crash_is_redone_or_made_safe(fake, media, world_items, reviewer):
    """The unit of the crash test: a STARTED record without an outcome, as kill -9 leaves it."""
    configure()
    report = drive(start(media, reviewer, media=1, messages=False))
    assert report.status == "SUBMITTED"
    # The same report, as if the worker had died during its /upload.
    again = start(media, reviewer, media=1, messages=False)
    submission._advance(str(again.pk))  # additional-info
    submission._advance(str(again.pk))  # build-xml
    submission._advance(str(again.pk))  # submit
    again.refresh_from_db()
    NcmecReportStep.objects.create(
        report=again, attempt=again.attempt, step="upload-media", label="x", status="STARTED"
    )
    again = drive(again)
    assert again.status == "SUBMITTED"
    assert len(again.retracted_report_ids) == 1
    assert fake.reports[again.retracted_report_ids[0]].state == "retracted"


def test_one_job_makes_one_report(fake, media, world_items, reviewer):
    fake.expect_no_calls()
    job = rule_job(post("p-9"), queue("ncmec-q"))
    first = start_report(world.draft(media.url), reviewer, job)
    second = start_report(world.draft(media.url), reviewer, job)
    assert second.pk == first.pk
    assert NcmecReport.objects.count() == 1
    assert len(jobs(submission.TASK)) == 1
