"""The CyberTip API client against the fake CyberTip server: base URL, Basic auth, timeouts, the
answers, and how each failure is classified (certain or not, worth retrying or not)."""

from __future__ import annotations

import hashlib
import threading

import pytest

from coop.childsafety.cybertip import (
    PRODUCTION_URL,
    TEST_URL,
    CyberTipClient,
    CyberTipError,
    FileDocument,
    base_url,
    file_details_xml,
)
from coop.childsafety.cybertip.client import CONNECT_TIMEOUT, TIMEOUT
from coop.testing.fake_cybertip import FakeCyberTip

USER, PASSWORD = "reporter", "pässword:with colon"
REPORT = b"""<?xml version="1.0" encoding="UTF-8"?><report><incidentSummary><incidentType>Child \
Sex Trafficking</incidentType><incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime>\
</incidentSummary><reporter><reportingPerson><email>a@example.com</email></reportingPerson>\
</reporter></report>"""


@pytest.fixture
def fake():
    with FakeCyberTip(USER, PASSWORD) as server:
        yield server
    server.check()


@pytest.fixture
def client(fake):
    with CyberTipClient(USER, PASSWORD, fake.url) as cybertip:
        yield cybertip


@pytest.mark.parametrize(
    ("environment", "override", "expected"),
    [
        ("production", "", PRODUCTION_URL),
        ("test", "", TEST_URL),
        ("", "", TEST_URL),
        ("Production", "", TEST_URL),  # exactly `production`, nothing else
        ("production", "http://127.0.0.1:9/ispws", "http://127.0.0.1:9/ispws"),
    ],
)
def test_base_url(settings, environment, override, expected):
    settings.NCMEC_ENV = environment
    settings.NCMEC_CYBERTIP_URL = override
    assert base_url() == expected
    assert PRODUCTION_URL == "https://report.cybertip.org/ispws"
    assert TEST_URL == "https://exttest.cybertip.org/ispws"


def test_every_call_has_a_timeout():
    with CyberTipClient(USER, PASSWORD, TEST_URL) as cybertip:
        timeout = cybertip._client.timeout
    assert (timeout.connect, timeout.read, timeout.write) == (CONNECT_TIMEOUT, TIMEOUT, TIMEOUT)


def test_a_whole_report(client, fake):
    opened = client.submit(REPORT)
    uploaded = client.upload(opened.report_id, "a b.jpg", b"\xff\xd8bytes", "image/jpeg")
    assert uploaded.md5 == hashlib.md5(b"\xff\xd8bytes", usedforsecurity=False).hexdigest()
    details = file_details_xml(
        FileDocument(opened.report_id, uploaded.file_id, "a b.jpg", file_viewed_by_esp=True)
    )
    client.fileinfo(details)
    done = client.finish(opened.report_id)
    assert done.root == "reportDoneResponse"
    assert done.file_ids == (uploaded.file_id,)
    assert "<reportDoneResponse>" in done.text
    (report,) = fake.finished()
    (stored,) = report.files.values()
    assert (stored.name, stored.content) == ("a b.jpg", b"\xff\xd8bytes")
    assert stored.details == [details]
    assert fake.violations == []


def test_wrong_credentials_are_a_clear_permanent_error(fake):
    with (
        CyberTipClient(USER, "wrong", fake.url) as cybertip,
        pytest.raises(CyberTipError) as caught,
    ):
        cybertip.submit(REPORT)
    error = caught.value
    assert (error.status, error.retryable, error.uncertain) == (401, False, False)
    assert "refused the NCMEC username or password" in error.message
    assert "wrong" not in error.message


def test_a_document_out_of_the_xsd_order_is_refused_with_4100(client, fake):
    shuffled = REPORT.replace(b"<incidentSummary>", b"<x/><incidentSummary>")
    with pytest.raises(CyberTipError) as caught:
        client.submit(shuffled)
    assert caught.value.code == 4100
    assert not caught.value.retryable
    assert "report: <x> is not allowed here" in caught.value.message
    assert fake.reports == {}


def test_ncmec_server_errors_are_retryable_and_certain(client, fake):
    fake.fail("/submit", status=200, code=1000, description="Server error")
    with pytest.raises(CyberTipError) as caught:
        client.submit(REPORT)
    assert (caught.value.code, caught.value.retryable, caught.value.uncertain) == (
        1000,
        True,
        False,
    )


@pytest.mark.parametrize(
    ("failure", "uncertain"),
    [
        ({"status": 502}, True),  # no readable answer: NCMEC may have done it
        ({"close": True, "processed": True}, True),  # the answer was lost
        ({"status": 429}, False),  # refused before doing anything
    ],
)
def test_answers_that_say_nothing_are_uncertain(client, fake, failure, uncertain):
    fake.fail("/submit", **failure)
    with pytest.raises(CyberTipError) as caught:
        client.submit(REPORT)
    assert caught.value.retryable
    assert caught.value.uncertain is uncertain


def test_no_server_is_retryable_and_certain():
    with (
        CyberTipClient(USER, PASSWORD, "http://127.0.0.1:9/ispws") as cybertip,
        pytest.raises(CyberTipError) as caught,
    ):
        cybertip.submit(REPORT)
    assert (caught.value.retryable, caught.value.uncertain) == (True, False)
    assert "could not connect to NCMEC's CyberTip API (127.0.0.1)" in caught.value.message


def test_finishing_twice_counts_as_done_and_retracting_twice_as_retracted(client, fake):
    opened = client.submit(REPORT).report_id
    client.finish(opened)
    assert client.finish(opened).response_code == 0  # 5102: already finished
    again = client.submit(REPORT).report_id
    client.retract(again)
    assert client.retract(again).response_code == 0  # 5101: already retracted
    assert client.retract("999").response_code == 0  # 5001: expired or never opened
    with pytest.raises(CyberTipError) as caught:
        client.retract(opened)  # a finished report cannot be retracted
    assert caught.value.code == 5102


def test_uploading_to_a_finished_report_is_refused(client, fake):
    opened = client.submit(REPORT).report_id
    client.finish(opened)
    with pytest.raises(CyberTipError) as caught:
        client.upload(opened, "x.jpg", b"x", "image/jpeg")
    assert caught.value.code == 5102


def test_a_held_answer_times_out_as_uncertain(fake):
    hold = threading.Event()
    fake.fail("/upload", processed=True, hold=hold)
    with CyberTipClient(USER, PASSWORD, fake.url, timeout=0.5) as cybertip:
        opened = cybertip.submit(REPORT).report_id
        with pytest.raises(CyberTipError) as caught:
            cybertip.upload(opened, "x.jpg", b"x", "image/jpeg")
    hold.set()
    assert (caught.value.uncertain, caught.value.retryable) == (True, True)
    assert "did not answer /upload in time" in caught.value.message
