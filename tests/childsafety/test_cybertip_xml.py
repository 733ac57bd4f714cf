"""The CyberTip XML documents against the fake's transcription of the XSD's sequences, and the
fake's validator against documents that break them (so a passing end-to-end test means
something)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from coop.childsafety.cybertip import (
    ContactPerson,
    Email,
    FileDocument,
    IpEvent,
    ReportDocument,
    ReportedPerson,
    Reporter,
    file_details_xml,
    report_xml,
)
from coop.childsafety.cybertip.documents import MalformedResponseError, parse_answer
from coop.core.enums import FileAnnotation, IncidentType
from coop.testing.fake_cybertip import INCIDENTS, validate

WHEN = datetime(2026, 6, 30, 18, 0, tzinfo=UTC)


def document(**changes) -> ReportDocument:
    fields = {
        "incident_type": str(IncidentType.ONLINE_ENTICEMENT),
        "incident_date_time": WHEN,
        "escalate_reason": "Imminent danger",
        "internet_detail_type": "CHAT_IM",
        "reporter": Reporter(
            email="safety@example.com",
            company_template="Example",
            legal_url="https://example.com/legal",
            terms_of_service="Terms",
            contact=ContactPerson("Lee", None, "+1 555", "lee@example.com"),
        ),
        "person": ReportedPerson(
            esp_identifier="u-1",
            esp_service="Example",
            screen_name="sam",
            display_names=("Sam", "Sammy"),
            emails=(Email("a@example.com", "Work", False), Email("b@example.com")),
            ip_events=(IpEvent("2001:db8::1", "Login", WHEN, False, 1),),
            prior_reports=(12, 7),
        ),
        "additional_info": "Notes",
    }
    fields.update(changes)
    return ReportDocument(**fields)


def parse(xml: bytes) -> ET.Element:
    return ET.fromstring(xml)  # noqa: S314 - Coop's own output


def test_a_complete_report_follows_the_schema():
    xml = report_xml(document())
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<report>")
    assert validate(parse(xml)) == []
    root = parse(xml)
    assert [e.tag for e in root.find("internetDetails")] == ["chatImIncident"]
    assert [e.tag for e in root.find("reporter/contactPerson")] == ["firstName", "phone", "email"]
    person = root.find("personOrUserReported")
    assert [e.tag for e in person][-3:] == ["ipCaptureEvent", "priorCTReports", "priorCTReports"]
    emails = person.findall("personOrUserReportedPerson/email")
    assert [(e.text, e.attrib) for e in emails] == [
        ("a@example.com", {"type": "Work", "verified": "false"}),
        ("b@example.com", {}),
    ]
    # false and 1 are values like any other (the reference dropped them on files).
    assert person.findtext("ipCaptureEvent/possibleProxy") == "false"
    assert person.findtext("ipCaptureEvent/port") == "1"


@pytest.mark.parametrize("kind", ["WEB_PAGE", "EMAIL", "NON_INTERNET", "PEER_TO_PEER"])
def test_every_incident_type_is_one_valid_element(kind):
    root = parse(report_xml(document(internet_detail_type=kind, web_page_url=None)))
    assert validate(root) == []
    (incident,) = root.find("internetDetails")
    assert incident.tag in INCIDENTS
    assert list(incident) == []


def test_file_details_follow_the_schema_and_the_annotation_order():
    xml = file_details_xml(
        FileDocument(
            report_id="4564654",
            file_id="abc",
            original_file_name="x.jpg",
            file_viewed_by_esp=True,
            publicly_available=False,
            file_relevance="Reported",
            annotations=(FileAnnotation.INFANT, FileAnnotation.ANIME_DRAWING_VIRTUAL_HENTAI),
            industry_classification="B2",
            hashes=(("PDQ", "ab" * 32), ("MD5", "cd" * 16)),
            ip_event=IpEvent("192.0.2.1", "Upload", WHEN),
            additional_info=("one", "two"),
        )
    )
    root = parse(xml)
    assert validate(root) == []
    assert [e.tag for e in root.find("fileAnnotations")] == ["animeDrawingVirtualHentai", "infant"]
    assert [h.get("hashType") for h in root.findall("originalFileHash")] == ["PDQ", "MD5"]
    assert root.findtext("publiclyAvailable") == "false"


def test_text_from_item_data_is_made_safe_for_xml():
    person = ReportedPerson("u-1", display_names=("a\x00b\x1bc <&>",))
    root = parse(report_xml(document(person=person)))
    assert root.findtext("personOrUserReported/displayName") == "a\ufffdb\ufffdc <&>"


# --- the validator refuses what NCMEC refuses ----------------------------------------------------


def refusals(xml: str) -> list[str]:
    return validate(parse(xml.encode()))


MINIMAL = (
    "<incidentSummary><incidentType>Child Sex Tourism</incidentType>"
    "<incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime></incidentSummary>"
    "<reporter><reportingPerson><email>a@example.com</email></reportingPerson></reporter>"
)


def test_the_minimal_report_is_valid():
    assert refusals(f"<report>{MINIMAL}</report>") == []


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        (
            "<report><reporter><reportingPerson/></reporter>"
            "<incidentSummary><incidentType>Child Sex Tourism</incidentType>"
            "<incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime></incidentSummary></report>",
            "report: <incidentSummary> is out of the XSD's order",
        ),
        (
            f"<report>{MINIMAL}<personOrUserReported><screenName/></personOrUserReported></report>",
            "personOrUserReported[2]/screenName[0]: is empty",
        ),
        (
            f"<report>{MINIMAL}<personOrUserReported><screenName>s</screenName>"
            "<espIdentifier>u</espIdentifier></personOrUserReported></report>",
            "<espIdentifier> is out of the XSD's order",
        ),
        (
            "<report><incidentSummary><incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime>"
            "</incidentSummary><reporter><reportingPerson/></reporter></report>",
            "<incidentType> is required here",
        ),
        (
            f"<report>{MINIMAL}<internetDetails><webPageIncident/></internetDetails></report>",
            "<internetDetails> is out of the XSD's order",
        ),
        (
            "<report><incidentSummary><incidentType>Nope</incidentType><incidentDateTime>"
            "yesterday</incidentDateTime></incidentSummary><reporter><reportingPerson/>"
            "</reporter></report>",
            "'Nope' is not a valid value",
        ),
        (
            "<fileDetails><reportId>1</reportId><fileId>f</fileId><fileAnnotations><infant/>"
            "<viral/></fileAnnotations></fileDetails>",
            "<viral> is out of the XSD's order",
        ),
        (
            "<fileDetails><reportId>1</reportId><fileId>f</fileId><ipCaptureEvent><ipAddress>"
            "1.2.3.4</ipAddress></ipCaptureEvent><ipCaptureEvent><ipAddress>1.2.3.5</ipAddress>"
            "</ipCaptureEvent></fileDetails>",
            "<ipCaptureEvent> is out of the XSD's order (or repeated)",
        ),
        (
            "<fileDetails><reportId>1</reportId><fileId>f</fileId><fileAnnotations><viral>x"
            "</viral></fileAnnotations></fileDetails>",
            "is a flag and must be empty",
        ),
        (
            "<fileDetails><reportId>1</reportId><fileId>f</fileId><originalFileHash>ab"
            "</originalFileHash></fileDetails>",
            "needs a hashType attribute",
        ),
    ],
)
def test_the_validator_refuses_documents_that_break_the_schema(xml, problem):
    assert any(problem in p for p in refusals(xml)), refusals(xml)


def test_answers_with_a_dtd_or_no_response_code_are_refused():
    with pytest.raises(MalformedResponseError, match="DTD"):
        parse_answer(b'<!DOCTYPE x [<!ENTITY a "b">]><reportResponse/>')
    with pytest.raises(MalformedResponseError, match="no responseCode"):
        parse_answer(b"<reportResponse><reportId>1</reportId></reportResponse>")
    with pytest.raises(MalformedResponseError, match="unexpected answer"):
        parse_answer(b"<html/>")
    answer = parse_answer(
        b"<reportResponse><responseCode>0</responseCode><responseDescription>Success"
        b"</responseDescription><reportId>5</reportId><fileId>f</fileId><hash>h</hash>"
        b"</reportResponse>"
    )
    assert (answer.report_id, answer.file_id, answer.md5) == ("5", "f", "h")
