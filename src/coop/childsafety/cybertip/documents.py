"""The XML documents of the CyberTip API: `<report>` for /submit and `<fileDetails>` for
/fileinfo, and the answers (`<reportResponse>`, `<reportDoneResponse>`).

NCMEC validates each document against its XSD (GET /xsd on the API) and rejects children out
of their `xs:sequence` order with responseCode 4100, so every builder below appends children in
the XSD's order. The order is the one of NCMEC's published schema (report: Appendix B,
fileDetails: Appendix C of https://report.cybertip.org/ispws/documentation) as transcribed by
roostorg/coop (server/services/ncmecService/ncmecReporting.ts, the `Report` and `FileDetails`
types, "key insertion order must match the NCMEC XSD sequence") and by Nachtalb/ncmec-cybertip
(src/ncmec_cybertip/report.py, common.py, files.py, modelled on the same schema). The fake
server (coop.testing.fake_cybertip) checks every body against those sequences.

Unlike the reference, an unknown value is left out, never written as an empty element (no
`<screenName/>`), and false and 0 are written like any other value. Text is cleaned of the
characters XML 1.0 cannot carry, because display names and messages come from item data.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

from coop.core.enums import FileAnnotation

# Characters XML 1.0 cannot hold (C0 controls other than tab, LF, CR; surrogates; U+FFFE/F).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_RESPONSE_BYTES = 1024 * 1024


def clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def xml_datetime(moment: datetime) -> str:
    """xs:dateTime in UTC, e.g. 2026-06-30T18:00:00Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _leaf(parent: ET.Element, tag: str, value: str | int | bool | None) -> None:
    """A child with text; nothing at all when the value is unknown (None or "")."""
    if value is None or value == "":
        return
    text = _bool(value) if isinstance(value, bool) else str(value)
    ET.SubElement(parent, tag).text = clean(text)


def _serialise(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


@dataclass(frozen=True)
class IpEvent:
    """ipCaptureEvent: ipAddress, eventName, dateTime, possibleProxy, port (XSD order)."""

    ip_address: str
    event_name: str | None = None  # Login, Registration, Purchase, Upload, Other, Unknown
    date_time: datetime | None = None
    possible_proxy: bool | None = None
    port: int | None = None

    def append_to(self, parent: ET.Element) -> None:
        event = ET.SubElement(parent, "ipCaptureEvent")
        _leaf(event, "ipAddress", self.ip_address)
        _leaf(event, "eventName", self.event_name)
        _leaf(event, "dateTime", xml_datetime(self.date_time) if self.date_time else None)
        _leaf(event, "possibleProxy", self.possible_proxy)
        _leaf(event, "port", self.port)

    def describe(self) -> str:
        parts = [self.ip_address]
        if self.port is not None:
            parts.append(f"port {self.port}")
        if self.event_name:
            parts.append(self.event_name)
        if self.date_time:
            parts.append(xml_datetime(self.date_time))
        if self.possible_proxy is not None:
            parts.append("possible proxy" if self.possible_proxy else "not a proxy")
        return ", ".join(parts)


@dataclass(frozen=True)
class Email:
    address: str
    type: str | None = None  # Home, Work, Business
    verified: bool | None = None
    verification_date: datetime | None = None

    def append_to(self, parent: ET.Element) -> None:
        element = ET.SubElement(parent, "email")
        element.text = clean(self.address)
        if self.type:
            element.set("type", clean(self.type))
        if self.verified is not None:
            element.set("verified", _bool(self.verified))
        if self.verification_date is not None:
            element.set("verificationDate", xml_datetime(self.verification_date))


@dataclass(frozen=True)
class ContactPerson:
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None

    def is_empty(self) -> bool:
        return not (self.first_name or self.last_name or self.phone or self.email)


@dataclass(frozen=True)
class Reporter:
    email: str  # reportingPerson
    company_template: str
    legal_url: str | None = None
    terms_of_service: str | None = None
    contact: ContactPerson | None = None


@dataclass(frozen=True)
class ReportedPerson:
    esp_identifier: str
    esp_service: str | None = None
    screen_name: str | None = None
    display_names: tuple[str, ...] = ()
    emails: tuple[Email, ...] = ()
    ip_events: tuple[IpEvent, ...] = ()
    prior_reports: tuple[int, ...] = ()


# internetDetails holds exactly one of these (config.md defaultInternetDetailType).
INCIDENT_ELEMENTS = {
    "WEB_PAGE": "webPageIncident",
    "EMAIL": "emailIncident",
    "NEWSGROUP": "newsgroupIncident",
    "CHAT_IM": "chatImIncident",
    "ONLINE_GAMING": "onlineGamingIncident",
    "CELL_PHONE": "cellPhoneIncident",
    "NON_INTERNET": "nonInternetIncident",
    "PEER_TO_PEER": "peer2peerIncident",
}


@dataclass(frozen=True)
class ReportDocument:
    incident_type: str
    incident_date_time: datetime
    reporter: Reporter
    person: ReportedPerson
    escalate_reason: str | None = None
    internet_detail_type: str | None = None
    web_page_url: str | None = None  # webPageIncident/url
    additional_info: str | None = None


def _person(parent: ET.Element, tag: str, first: str | None, last: str | None, phones, emails):
    """A Person: firstName, lastName, phone*, email*, address*, ... (XSD order)."""
    person = ET.SubElement(parent, tag)
    _leaf(person, "firstName", first)
    _leaf(person, "lastName", last)
    for phone in phones:
        _leaf(person, "phone", phone)
    for email in emails:
        email.append_to(person)


def report_xml(doc: ReportDocument) -> bytes:
    """`<report>`: incidentSummary, internetDetails, reporter, personOrUserReported,
    additionalInfo (lawEnforcement, intendedRecipient and victim are not reported)."""
    report = ET.Element("report")
    summary = ET.SubElement(report, "incidentSummary")
    _leaf(summary, "incidentType", doc.incident_type)
    _leaf(summary, "escalateToHighPriority", doc.escalate_reason)
    _leaf(summary, "incidentDateTime", xml_datetime(doc.incident_date_time))

    if doc.internet_detail_type:
        details = ET.SubElement(report, "internetDetails")
        incident = ET.SubElement(details, INCIDENT_ELEMENTS[doc.internet_detail_type])
        if doc.internet_detail_type == "WEB_PAGE":
            _leaf(incident, "url", doc.web_page_url)

    reporter = ET.SubElement(report, "reporter")
    _person(reporter, "reportingPerson", None, None, (), (Email(doc.reporter.email),))
    contact = doc.reporter.contact
    if contact is not None and not contact.is_empty():
        _person(
            reporter,
            "contactPerson",
            contact.first_name,
            contact.last_name,
            [contact.phone] if contact.phone else [],
            [Email(contact.email)] if contact.email else [],
        )
    _leaf(reporter, "companyTemplate", doc.reporter.company_template)
    _leaf(reporter, "termsOfService", doc.reporter.terms_of_service)
    _leaf(reporter, "legalURL", doc.reporter.legal_url)

    person = doc.person
    reported = ET.SubElement(report, "personOrUserReported")
    if person.emails:
        _person(reported, "personOrUserReportedPerson", None, None, (), person.emails)
    _leaf(reported, "espIdentifier", person.esp_identifier)
    _leaf(reported, "espService", person.esp_service)
    _leaf(reported, "screenName", person.screen_name)
    for name in person.display_names:
        _leaf(reported, "displayName", name)
    for event in person.ip_events:
        event.append_to(reported)
    for prior in person.prior_reports:
        _leaf(reported, "priorCTReports", prior)

    _leaf(report, "additionalInfo", doc.additional_info)
    return _serialise(report)


# fileAnnotations is a sequence of optional flags: written in the XSD's order, whatever the
# order the reviewer ticked them in (the enum lists them in that order).
ANNOTATION_ORDER = tuple(FileAnnotation)


@dataclass(frozen=True)
class FileDocument:
    report_id: str
    file_id: str
    original_file_name: str | None = None
    file_viewed_by_esp: bool | None = None
    publicly_available: bool | None = None
    file_relevance: str | None = None  # Reported, Supplemental Reported
    annotations: tuple[str, ...] = ()
    industry_classification: str | None = None
    hashes: tuple[tuple[str, str], ...] = ()  # (hashType, value), e.g. ("PDQ", "f8f8…")
    ip_event: IpEvent | None = None  # the XSD allows one per file
    additional_info: tuple[str, ...] = ()


def file_details_xml(doc: FileDocument) -> bytes:
    """`<fileDetails>`: reportId, fileId, originalFileName, fileViewedByEsp, publiclyAvailable,
    fileRelevance, fileAnnotations, industryClassification, originalFileHash*,
    ipCaptureEvent, additionalInfo* (XSD order; exifViewedByEsp is not claimed: Coop's
    reviewers do not see EXIF data)."""
    details = ET.Element("fileDetails")
    _leaf(details, "reportId", doc.report_id)
    _leaf(details, "fileId", doc.file_id)
    _leaf(details, "originalFileName", doc.original_file_name)
    _leaf(details, "fileViewedByEsp", doc.file_viewed_by_esp)
    _leaf(details, "publiclyAvailable", doc.publicly_available)
    _leaf(details, "fileRelevance", doc.file_relevance)
    chosen = set(doc.annotations)
    if chosen:
        annotations = ET.SubElement(details, "fileAnnotations")
        for annotation in ANNOTATION_ORDER:
            if annotation in chosen:
                ET.SubElement(annotations, str(annotation))
    _leaf(details, "industryClassification", doc.industry_classification)
    for hash_type, value in doc.hashes:
        element = ET.SubElement(details, "originalFileHash")
        element.text = clean(value)
        element.set("hashType", clean(hash_type))
    if doc.ip_event is not None:
        doc.ip_event.append_to(details)
    for info in doc.additional_info:
        _leaf(details, "additionalInfo", info)
    return _serialise(details)


# --- answers --------------------------------------------------------------------------------


class MalformedResponseError(ValueError):
    pass


@dataclass(frozen=True)
class Answer:
    """reportResponse (submit, upload, fileinfo, retract) or reportDoneResponse (finish)."""

    root: str
    response_code: int
    description: str
    report_id: str | None
    file_id: str | None
    file_ids: tuple[str, ...]
    md5: str | None = None  # /upload: NCMEC's MD5 of the file it stored
    text: str = ""  # the answer as received (the receipt of /finish)


def parse_answer(body: bytes) -> Answer:
    """The answer NCMEC sent; MalformedResponseError when it is not one. Documents with a DTD
    are refused before parsing (no entity expansion, no external entities)."""
    if len(body) > MAX_RESPONSE_BYTES:
        raise MalformedResponseError("the answer is larger than 1 MB")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MalformedResponseError("the answer declares a DTD")
    try:
        root = ET.fromstring(body)  # noqa: S314 - documents with a DTD are refused above
    except ET.ParseError as exc:
        raise MalformedResponseError(f"the answer is not XML ({exc})") from None
    if root.tag not in ("reportResponse", "reportDoneResponse"):
        raise MalformedResponseError(f"unexpected answer <{root.tag}>")
    code = (root.findtext("responseCode") or "").strip()
    if not code.lstrip("-").isdigit():
        raise MalformedResponseError("the answer has no responseCode")
    files = root.find("files")
    return Answer(
        root=root.tag,
        response_code=int(code),
        description=(root.findtext("responseDescription") or "").strip(),
        report_id=(root.findtext("reportId") or "").strip() or None,
        file_id=(root.findtext("fileId") or "").strip() or None,
        file_ids=tuple(
            (f.text or "").strip() for f in (files.findall("fileId") if files is not None else [])
        ),
        md5=(root.findtext("hash") or "").strip() or None,
        text=body.decode("utf-8", errors="replace"),
    )
