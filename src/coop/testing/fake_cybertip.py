"""A local stand-in for NCMEC's CyberTip reporting API (https://report.cybertip.org/ispws):
a real HTTP server on 127.0.0.1 in a thread, for the tests and the demo.

It speaks the documented protocol: HTTP Basic auth on every call; `POST /submit` (a `<report>`
document) opens a report and answers its reportId; `POST /upload` (multipart: `id`, `file`)
attaches a file and answers its fileId and MD5; `POST /fileinfo` (a `<fileDetails>` document)
describes an attached file; `POST /finish` (multipart `id`) files the report and answers
`<reportDoneResponse>` with its files; `POST /retract` (multipart `id`) cancels an open report.
A finished report cannot be changed or retracted (5102), a retracted one is gone (5101), an
unknown one does not exist (5001).

Every XML body is checked against the element order of NCMEC's XSD (`SCHEMA` below; sources:
roostorg/coop server/services/ncmecService/ncmecReporting.ts, whose `Report` and
`FileDetails` types are "in the NCMEC XSD sequence (Appendix B/C)", and Nachtalb/ncmec-cybertip
src/ncmec_cybertip/report.py, common.py and files.py, built from NCMEC's published schema):
children out of order, unknown children, a required child missing, an empty value (such as
`<screenName/>`) or a malformed value are refused with responseCode 4100, as NCMEC does, and
kept in `violations` so a test can show what was wrong.

Tests script failures per endpoint (`fail`): an HTTP status, a responseCode, a dropped
connection, a held answer; either before doing the work or after it (an answer lost on the
way back). `check()` fails a test whose fake was never called.

`coop serve --demo` runs it as a child process (`python -m coop.testing.fake_cybertip --port P`,
credentials in COOP_DEMO_CYBERTIP_USERNAME / COOP_DEMO_CYBERTIP_PASSWORD), so the demo's NCMEC
flow files its reports somewhere harmless.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# --- the schema: xs:sequence of each complex element, as (child, minOccurs, maxOccurs) -------

UNBOUNDED = 10**9
Particle = tuple[str, int, int]

_PERSON: list[Particle] = [
    ("firstName", 0, 1),
    ("lastName", 0, 1),
    ("phone", 0, UNBOUNDED),
    ("email", 0, UNBOUNDED),
    ("address", 0, UNBOUNDED),
    ("age", 0, 1),
    ("ageAssertionDiscrepancy", 0, 1),
    ("dateOfBirth", 0, 1),
]
_IP_CAPTURE: list[Particle] = [
    ("ipAddress", 1, 1),
    ("eventName", 0, 1),
    ("dateTime", 0, 1),
    ("possibleProxy", 0, 1),
    ("port", 0, 1),
]
_FLAGS = [
    "animeDrawingVirtualHentai",
    "potentialMeme",
    "viral",
    "possibleSelfProduction",
    "physicalHarm",
    "violenceGore",
    "bestiality",
    "liveStreaming",
    "infant",
    "generativeAi",
]
INCIDENTS = [
    "webPageIncident",
    "emailIncident",
    "newsgroupIncident",
    "chatImIncident",
    "onlineGamingIncident",
    "cellPhoneIncident",
    "nonInternetIncident",
    "peer2peerIncident",
]
SCHEMA: dict[str, list[Particle]] = {
    "report": [
        ("batchedReport", 0, 1),
        ("incidentSummary", 1, 1),
        ("internetDetails", 0, UNBOUNDED),
        ("lawEnforcement", 0, 1),
        ("reporter", 1, 1),
        ("personOrUserReported", 0, 1),
        ("intendedRecipient", 0, UNBOUNDED),
        ("victim", 0, UNBOUNDED),
        ("additionalInfo", 0, 1),
    ],
    "incidentSummary": [
        ("incidentType", 1, 1),
        ("platform", 0, 1),
        ("escalateToHighPriority", 0, 1),
        ("reportAnnotations", 0, 1),
        ("incidentDateTime", 1, 1),
        ("incidentDateTimeDescription", 0, 1),
    ],
    "webPageIncident": [("url", 0, UNBOUNDED), ("additionalInfo", 0, 1)],
    "emailIncident": [("emailAddress", 0, UNBOUNDED), ("content", 0, 1), ("additionalInfo", 0, 1)],
    "newsgroupIncident": [
        ("name", 0, 1),
        ("emailAddress", 0, UNBOUNDED),
        ("content", 0, 1),
        ("additionalInfo", 0, 1),
    ],
    "chatImIncident": [
        ("chatClient", 0, 1),
        ("chatRoomName", 0, 1),
        ("content", 0, 1),
        ("additionalInfo", 0, 1),
    ],
    "onlineGamingIncident": [
        ("gameName", 0, 1),
        ("console", 0, 1),
        ("content", 0, 1),
        ("additionalInfo", 0, 1),
    ],
    "cellPhoneIncident": [
        ("phoneNumber", 0, 1),
        ("latitude", 0, 1),
        ("longitude", 0, 1),
        ("additionalInfo", 0, 1),
    ],
    "nonInternetIncident": [
        ("locationName", 0, 1),
        ("incidentAddress", 0, UNBOUNDED),
        ("additionalInfo", 0, 1),
    ],
    "peer2peerIncident": [
        ("client", 0, 1),
        ("ipCaptureEvent", 0, UNBOUNDED),
        ("fileNames", 0, 1),
        ("additionalInfo", 0, 1),
    ],
    "reporter": [
        ("reportingPerson", 1, 1),
        ("contactPerson", 0, 1),
        ("companyTemplate", 0, 1),
        ("termsOfService", 0, 1),
        ("legalURL", 0, 1),
    ],
    "reportingPerson": _PERSON,
    "contactPerson": _PERSON,
    "personOrUserReportedPerson": _PERSON,
    "personOrUserReported": [
        ("personOrUserReportedPerson", 0, 1),
        ("vehicleDescription", 0, 1),
        ("espIdentifier", 0, 1),
        ("espService", 0, 1),
        ("compromisedAccount", 0, 1),
        ("screenName", 0, 1),
        ("displayName", 0, UNBOUNDED),
        ("profileUrl", 0, UNBOUNDED),
        ("profileBio", 0, 1),
        ("ipCaptureEvent", 0, UNBOUNDED),
        ("deviceId", 0, UNBOUNDED),
        ("thirdPartyUserReported", 0, 1),
        ("priorCTReports", 0, UNBOUNDED),
        ("groupIdentifier", 0, 1),
        ("estimatedLocation", 0, 1),
        ("allEmailsReported", 0, 1),
        ("associatedAccount", 0, UNBOUNDED),
        ("additionalInfo", 0, 1),
    ],
    "ipCaptureEvent": _IP_CAPTURE,
    "fileDetails": [
        ("reportId", 1, 1),
        ("fileId", 1, 1),
        ("originalFileName", 0, 1),
        ("uploadedToEspTimestamp", 0, 1),
        ("locationOfFile", 0, 1),
        ("fileViewedByEsp", 0, 1),
        ("exifViewedByEsp", 0, 1),
        ("publiclyAvailable", 0, 1),
        ("fileRelevance", 0, 1),
        ("fileAnnotations", 0, 1),
        ("industryClassification", 0, 1),
        ("originalFileHash", 0, UNBOUNDED),
        ("ipCaptureEvent", 0, 1),
        ("deviceId", 0, UNBOUNDED),
        ("details", 0, UNBOUNDED),
        ("additionalInfo", 0, UNBOUNDED),
    ],
    "fileAnnotations": [(flag, 0, 1) for flag in _FLAGS],
}
# Elements that hold exactly one of their children (xs:choice).
CHOICES: dict[str, list[str]] = {"internetDetails": INCIDENTS}
# Presence flags: empty by definition.
FLAGS = frozenset(_FLAGS)

_INCIDENT_TYPES = {
    "Child Pornography (possession, manufacture, and distribution)",
    "Child Sex Trafficking",
    "Child Sex Tourism",
    "Child Sexual Molestation",
    "Misleading Domain Name",
    "Misleading Words or Digital Images on the Internet",
    "Online Enticement of Children for Sexual Acts",
    "Unsolicited Obscene Material Sent to a Child",
}
_INTEGER = re.compile(r"^[0-9]+$")


def _datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in text


LEAF_VALUES = {
    "incidentType": lambda t: t in _INCIDENT_TYPES,
    "incidentDateTime": _datetime,
    "dateTime": _datetime,
    "eventName": lambda t: t in {"Login", "Registration", "Purchase", "Upload", "Other", "Unknown"},
    "reportId": _INTEGER.match,
    "priorCTReports": _INTEGER.match,
    "port": lambda t: bool(_INTEGER.match(t)) and 1 <= int(t) <= 65535,
    "possibleProxy": lambda t: t in {"true", "false"},
    "fileViewedByEsp": lambda t: t in {"true", "false"},
    "exifViewedByEsp": lambda t: t in {"true", "false"},
    "publiclyAvailable": lambda t: t in {"true", "false"},
    "fileRelevance": lambda t: t in {"Reported", "Supplemental Reported"},
    "industryClassification": lambda t: t in {"A1", "A2", "B1", "B2"},
}


def validate(root: ET.Element) -> list[str]:
    """What is wrong with the document (empty when it follows the schema)."""
    problems: list[str] = []
    _check(root, root.tag, problems)
    return problems


def _check(element: ET.Element, path: str, problems: list[str]) -> None:
    children = list(element)
    if element.tag in CHOICES:
        allowed = CHOICES[element.tag]
        if len(children) != 1 or children[0].tag not in allowed:
            problems.append(f"{path}: needs exactly one of {', '.join(allowed)}")
    elif element.tag in SCHEMA:
        _check_sequence(element, SCHEMA[element.tag], path, problems)
    elif element.tag in FLAGS:
        if children or (element.text or "").strip():
            problems.append(f"{path}: is a flag and must be empty")
        return
    else:
        _check_leaf(element, path, problems)
        return
    if (element.text or "").strip():
        problems.append(f"{path}: has text where only elements belong")
    for index, child in enumerate(children):
        _check(child, f"{path}/{child.tag}[{index}]", problems)


def _check_sequence(
    element: ET.Element, sequence: list[Particle], path: str, problems: list[str]
) -> None:
    tags = [child.tag for child in element]
    position = 0
    for name, low, high in sequence:
        count = 0
        while position < len(tags) and tags[position] == name and count < high:
            position += 1
            count += 1
        if count < low:
            problems.append(f"{path}: <{name}> is required here")
    if position < len(tags):
        known = {name for name, _, _ in sequence}
        tag = tags[position]
        if tag in known:
            problems.append(f"{path}: <{tag}> is out of the XSD's order (or repeated)")
        else:
            problems.append(f"{path}: <{tag}> is not allowed here")


def _check_leaf(element: ET.Element, path: str, problems: list[str]) -> None:
    if len(element):
        problems.append(f"{path}: unknown element with children")
        return
    text = (element.text or "").strip()
    if not text:
        problems.append(f"{path}: is empty (leave out an element whose value is unknown)")
        return
    check = LEAF_VALUES.get(element.tag)
    if check is not None and not check(text):
        problems.append(f"{path}: {text!r} is not a valid value")
    if element.tag == "originalFileHash" and not element.get("hashType"):
        problems.append(f"{path}: needs a hashType attribute")


# --- the server ------------------------------------------------------------------------------


@dataclass
class Failure:
    """How the next calls of one endpoint fail. `processed`: the fake does the work first and
    the answer is lost or wrong (NCMEC did it, the caller cannot know)."""

    status: int = 500
    code: int | None = None  # a reportResponse with this responseCode (and `status`)
    description: str = "Scripted failure"
    close: bool = False  # drop the connection without an answer
    processed: bool = False
    hold: threading.Event | None = None  # wait for this before answering
    times: int = 1


@dataclass
class UploadedFile:
    file_id: str
    name: str
    content: bytes
    md5: str
    details: list[bytes] = field(default_factory=list)


@dataclass
class FiledReport:
    report_id: str
    xml: bytes
    files: dict[str, UploadedFile] = field(default_factory=dict)
    state: str = "open"  # open, finished, retracted


@dataclass
class Call:
    endpoint: str
    report_id: str | None
    outcome: str  # "ok", "refused" (NCMEC's answer), "failed" (scripted), "unauthorised"


class FakeCyberTip:
    def __init__(self, username: str, password: str, port: int = 0):
        self.username = username
        self.password = password
        self.reports: dict[str, FiledReport] = {}
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.failures: dict[str, list[Failure]] = {}
        self.arrived = threading.Event()
        self.calls_expected = True
        self.lock = threading.Lock()
        self._ids = itertools.count(4_564_654)
        self._file_ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                fake._handle(self)

            def do_GET(self):
                fake._handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- for tests ---

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/ispws"

    def fail(self, endpoint: str, **failure) -> Failure:
        scripted = Failure(**failure)
        with self.lock:
            self.failures.setdefault(endpoint, []).append(scripted)
        return scripted

    def finished(self) -> list[FiledReport]:
        return [r for r in self.reports.values() if r.state == "finished"]

    def endpoints(self) -> list[str]:
        return [call.endpoint for call in self.calls]

    def expect_no_calls(self) -> None:
        self.calls_expected = False

    def check(self) -> None:
        """A fake that was never called fails the test (unless told to expect that)."""
        if self.calls_expected:
            assert self.calls, "the fake CyberTip server was never called"
        else:
            assert not self.calls, f"the fake CyberTip server was called: {self.endpoints()}"

    def __enter__(self) -> FakeCyberTip:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        for failures in self.failures.values():
            for failure in failures:
                if failure.hold is not None:
                    failure.hold.set()
        self.server.shutdown()
        self.server.server_close()

    # --- the protocol ---

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        endpoint = request.path.split("?", 1)[0].removeprefix("/ispws")
        if not self._authorised(request.headers.get("Authorization", "")):
            with self.lock:
                self.calls.append(Call(endpoint, None, "unauthorised"))
            self._reply(request, 401, b"")
            return
        handler = {
            "/submit": self._submit,
            "/upload": self._upload,
            "/fileinfo": self._fileinfo,
            "/finish": self._finish,
            "/retract": self._retract,
            "/status": self._status,
        }.get(endpoint)
        if handler is None or (endpoint != "/status" and request.command != "POST"):
            self._reply(request, 404, b"")
            return
        with self.lock:
            queue = self.failures.get(endpoint) or []
            failure = queue[0] if queue else None
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    queue.pop(0)
        self.arrived.set()
        if failure is not None and not failure.processed:
            with self.lock:
                self.calls.append(Call(endpoint, None, "failed"))
            self._fail(request, failure)
            return
        with self.lock:
            status, answer, report_id, outcome = handler(request.headers, body)
            self.calls.append(Call(endpoint, report_id, outcome))
        if failure is not None:
            self._fail(request, failure)
            return
        self._reply(request, status, answer)

    def _authorised(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return header == f"Basic {expected}"

    def _fail(self, request: BaseHTTPRequestHandler, failure: Failure) -> None:
        if failure.hold is not None:
            failure.hold.wait(60)
        if failure.close:
            request.close_connection = True
            with contextlib.suppress(OSError):
                request.connection.shutdown(2)
            return
        body = b""
        if failure.code is not None:
            body = _response(failure.code, failure.description)
        self._reply(request, failure.status, body)

    def _reply(self, request: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        with contextlib.suppress(OSError):
            request.send_response(status)
            request.send_header("Content-Type", "application/xml")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)

    def _document(self, headers, body: bytes, root: str) -> tuple[ET.Element | None, str]:
        if not headers.get("Content-Type", "").startswith("text/xml"):
            return None, "the body must be sent as text/xml"
        if b"<!DOCTYPE" in body:
            return None, "DTDs are not accepted"
        try:
            document = ET.fromstring(body)  # noqa: S314 - DTDs are refused above
        except ET.ParseError as exc:
            return None, f"malformed XML: {exc}"
        if document.tag != root:
            return None, f"expected <{root}>, got <{document.tag}>"
        problems = validate(document)
        if problems:
            self.violations.extend(problems)
            return None, "; ".join(problems)
        return document, ""

    def _submit(self, headers, body):
        document, problem = self._document(headers, body, "report")
        if document is None:
            return 400, _response(4100, problem), None, "refused"
        report_id = str(next(self._ids))
        self.reports[report_id] = FiledReport(report_id, body)
        return 200, _response(0, "Success", reportId=report_id), report_id, "ok"

    def _open_report(self, report_id: str | None) -> tuple[FiledReport | None, bytes]:
        report = self.reports.get(report_id or "")
        if report is None:
            return None, _response(5001, "Report does not exist")
        if report.state == "retracted":
            return None, _response(5101, "Report already retracted")
        if report.state == "finished":
            return None, _response(5102, "Report already finished")
        return report, b""

    def _upload(self, headers, body):
        fields = _form(headers, body)
        if fields is None or "file" not in fields or "id" not in fields:
            return 400, _response(4000, "multipart id and file required"), None, "refused"
        report_id = fields["id"][1].decode()
        report, refusal = self._open_report(report_id)
        if report is None:
            return 200, refusal, report_id, "refused"
        name, content = fields["file"]
        if not name:
            return 400, _response(4000, "the file part needs a filename"), report_id, "refused"
        file_id = f"{next(self._file_ids):032x}"
        md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
        report.files[file_id] = UploadedFile(file_id, name, content, md5)
        answer = _response(0, "Success", reportId=report_id, fileId=file_id, hash=md5)
        return 200, answer, report_id, "ok"

    def _fileinfo(self, headers, body):
        document, problem = self._document(headers, body, "fileDetails")
        if document is None:
            return 400, _response(4100, problem), None, "refused"
        report_id = document.findtext("reportId")
        report, refusal = self._open_report(report_id)
        if report is None:
            return 200, refusal, report_id, "refused"
        upload = report.files.get(document.findtext("fileId") or "")
        if upload is None:
            return 200, _response(5002, "File does not exist"), report_id, "refused"
        upload.details.append(body)
        return 200, _response(0, "Success", reportId=report_id), report_id, "ok"

    def _finish(self, headers, body):
        fields = _form(headers, body)
        report_id = fields["id"][1].decode() if fields and "id" in fields else None
        report, refusal = self._open_report(report_id)
        if report is None:
            return 200, refusal, report_id, "refused"
        report.state = "finished"
        files = "".join(f"<fileId>{file_id}</fileId>" for file_id in report.files)
        answer = (
            '<?xml version="1.0" encoding="UTF-8"?><reportDoneResponse><responseCode>0'
            f"</responseCode><reportId>{report_id}</reportId><files>{files}</files>"
            "</reportDoneResponse>"
        ).encode()
        return 200, answer, report_id, "ok"

    def _retract(self, headers, body):
        fields = _form(headers, body)
        report_id = fields["id"][1].decode() if fields and "id" in fields else None
        report, refusal = self._open_report(report_id)
        if report is None:
            return 200, refusal, report_id, "refused"
        report.state = "retracted"
        return 200, _response(0, "Success", reportId=report_id), report_id, "ok"

    def _status(self, headers, body):
        return 200, _response(0, "Success"), None, "ok"


def _response(code: int, description: str, **values: str) -> bytes:
    root = ET.Element("reportResponse")
    ET.SubElement(root, "responseCode").text = str(code)
    ET.SubElement(root, "responseDescription").text = description
    for name, value in values.items():
        ET.SubElement(root, name).text = value
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _form(headers, body: bytes) -> dict[str, tuple[str | None, bytes]] | None:
    """The fields of a multipart/form-data body: name -> (filename, bytes); None if the body
    is not multipart/form-data."""
    content_type = headers.get("Content-Type", "")
    if not content_type.startswith("multipart/form-data"):
        return None
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    if not message.is_multipart():
        return None
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


USERNAME_ENV = "COOP_DEMO_CYBERTIP_USERNAME"
PASSWORD_ENV = "COOP_DEMO_CYBERTIP_PASSWORD"  # noqa: S105 - a variable name


def main(argv: list[str] | None = None) -> None:
    import argparse
    import os
    import signal

    parser = argparse.ArgumentParser(description="A local fake of NCMEC's CyberTip API")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    fake = FakeCyberTip(os.environ[USERNAME_ENV], os.environ[PASSWORD_ENV], port=args.port)
    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(
        target=fake.server.shutdown).start())  # fmt: skip
    fake.server.serve_forever()
    fake.server.server_close()


if __name__ == "__main__":
    main()
