"""The CyberTip reporting API (https://report.cybertip.org/ispws/documentation): /submit,
/upload, /fileinfo, /finish and /retract, with Basic auth and a timeout on every call.

Every failure is a `CyberTipError` that says, besides a message a reviewer can act on, whether
NCMEC may still have done what was asked (`uncertain`: the request was sent and no answer came
back, or the answer was unreadable) and whether trying again later can help (`retryable`). The
submission state machine decides from those what to do next: an uncertain /submit is never
sent again blindly, an uncertain /upload makes the open report unfit to finish.

The base URL is the operator's (NCMEC_CYBERTIP_URL or NCMEC_ENV), not item data, so this client
does not go through coop.outbound's address guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from coop.childsafety.cybertip.documents import (
    MAX_RESPONSE_BYTES,
    Answer,
    MalformedResponseError,
    parse_answer,
)

PRODUCTION_URL = "https://report.cybertip.org/ispws"
TEST_URL = "https://exttest.cybertip.org/ispws"
CONNECT_TIMEOUT = 10.0
TIMEOUT = 60.0  # per read or write; uploads of large files are written in many writes
USER_AGENT = "Coop-CyberTip/1"

# responseCode values (the documentation's list, which it says is not exhaustive).
SUCCESS = 0
TRANSIENT_CODES = frozenset({1000, 1100, 1110, 1111, 1300})  # server error, save/upload failed
REPORT_GONE_CODES = frozenset({5001, 5101})  # does not exist (expired), already retracted
ALREADY_FINISHED = 5102


def base_url() -> str:
    """NCMEC_CYBERTIP_URL if set; else production for NCMEC_ENV=production, test otherwise."""
    if settings.NCMEC_CYBERTIP_URL:
        return settings.NCMEC_CYBERTIP_URL
    return PRODUCTION_URL if settings.NCMEC_ENV == "production" else TEST_URL


@dataclass
class CyberTipError(Exception):
    endpoint: str  # "/submit", ...
    message: str  # for reviewers: never a credential, never a full URL
    uncertain: bool = False  # NCMEC may have done it
    retryable: bool = False  # trying again later may work
    code: int | None = None  # NCMEC's responseCode, when it answered one
    status: int | None = None  # the HTTP status, when there was an answer

    def __str__(self) -> str:
        return self.message


class CyberTipClient:
    def __init__(
        self, username: str, password: str, url: str | None = None, timeout: float = TIMEOUT
    ):
        self.url = (url or base_url()).rstrip("/")
        self.host = urlsplit(self.url).hostname or self.url
        self._client = httpx.Client(
            auth=httpx.BasicAuth(username, password),
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            trust_env=False,
        )

    def __enter__(self) -> CyberTipClient:
        return self

    def __exit__(self, *exc) -> None:
        self._client.close()

    def submit(self, report_xml: bytes) -> Answer:
        """Open a report; the answer carries its reportId."""
        answer = self._xml("/submit", report_xml)
        if not answer.report_id:
            raise CyberTipError("/submit", "NCMEC opened a report but sent no report id", True)
        return answer

    def upload(self, report_id: str, file_name: str, content: bytes, mime: str) -> Answer:
        """Attach a file to the open report; the answer carries its fileId."""
        answer = self._call(
            "/upload", files={"id": (None, report_id), "file": (file_name, content, mime)}
        )
        if not answer.file_id:
            raise CyberTipError("/upload", "NCMEC took the file but sent no file id", True)
        return answer

    def fileinfo(self, details_xml: bytes) -> Answer:
        return self._xml("/fileinfo", details_xml)

    def finish(self, report_id: str) -> Answer:
        """File the open report with NCMEC. Already finished (a repeat after an unanswered
        /finish) counts as done."""
        try:
            return self._call("/finish", files={"id": (None, report_id)})
        except CyberTipError as exc:
            if exc.code == ALREADY_FINISHED:
                return Answer("reportDoneResponse", SUCCESS, exc.message, report_id, None, ())
            raise

    def retract(self, report_id: str) -> Answer:
        """Cancel an open report. A report NCMEC no longer has (retracted before, or expired
        unfinished) counts as retracted."""
        try:
            return self._call("/retract", files={"id": (None, report_id)})
        except CyberTipError as exc:
            if exc.code in REPORT_GONE_CODES:
                return Answer("reportResponse", SUCCESS, exc.message, report_id, None, ())
            raise

    def _xml(self, endpoint: str, body: bytes) -> Answer:
        return self._call(
            endpoint, content=body, headers={"Content-Type": "text/xml; charset=utf-8"}
        )

    def _call(self, endpoint: str, **request) -> Answer:
        """POST to `endpoint`; the form endpoints (/upload, /finish, /retract) send
        multipart/form-data with the report `id`, as NCMEC documents them."""
        where = f"NCMEC's CyberTip API ({self.host})"
        try:
            response = self._client.post(self.url + endpoint, **request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise CyberTipError(
                endpoint, f"could not connect to {where}: {_reason(exc)}", retryable=True
            ) from None
        except httpx.TimeoutException:
            raise CyberTipError(
                endpoint,
                f"{where} did not answer {endpoint} in time",
                uncertain=True,
                retryable=True,
            ) from None
        except httpx.HTTPError as exc:
            raise CyberTipError(
                endpoint,
                f"the connection to {where} broke during {endpoint}: {_reason(exc)}",
                uncertain=True,
                retryable=True,
            ) from None
        return _answer(endpoint, where, response)


def _reason(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0][:200] or type(exc).__name__


def _answer(endpoint: str, where: str, response: httpx.Response) -> Answer:
    status = response.status_code
    if status in (401, 403):
        raise CyberTipError(
            endpoint,
            f"{where} refused the NCMEC username or password (HTTP {status}); check them in "
            "Settings → NCMEC",
            status=status,
        )
    try:
        answer = parse_answer(response.content[: MAX_RESPONSE_BYTES + 1])
    except MalformedResponseError as exc:
        if status in (408, 429):
            raise CyberTipError(
                endpoint, f"{where} is busy (HTTP {status})", retryable=True, status=status
            ) from None
        if status >= 500 or 200 <= status < 300:
            raise CyberTipError(
                endpoint,
                f"{where} answered {endpoint} with HTTP {status} and no readable result ({exc})",
                uncertain=True,
                retryable=True,
                status=status,
            ) from None
        raise CyberTipError(
            endpoint, f"{where} answered {endpoint} with HTTP {status}", status=status
        ) from None
    if answer.response_code != SUCCESS:
        description = answer.description[:200] or "no description"
        raise CyberTipError(
            endpoint,
            f"NCMEC refused {endpoint}: responseCode {answer.response_code} ({description})",
            retryable=answer.response_code in TRANSIENT_CODES,
            code=answer.response_code,
            status=status,
        )
    if not 200 <= status < 300:
        raise CyberTipError(
            endpoint,
            f"{where} answered {endpoint} with HTTP {status}",
            uncertain=True,
            retryable=True,
            status=status,
        )
    return answer
