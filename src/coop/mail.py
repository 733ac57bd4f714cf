"""Sending email: one function, `send_mail(to, subject, body)`, over SMTP from COOP_EMAIL_URL.

COOP_EMAIL_URL is `smtp://[user[:password]@]host[:port]` or `smtps://…` (implicit TLS), with
optional query parameters `starttls=1` (upgrade a plain connection with STARTTLS), `from=`
(the sender; default `coop@<host of COOP_BASE_URL>`) and `timeout=` (seconds, default 10). User
and password are percent-decoded. TLS certificates are verified against the system's CAs. When
COOP_EMAIL_URL is unset each message is written to the log instead, so a development setup
still shows what would have been sent.

Infrastructure: imports nothing of Coop but the settings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from django.core import checks
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend

log = logging.getLogger("coop.mail")

DEFAULT_TIMEOUT = 10.0
_TRUE = {"1", "true", "yes"}


class EmailUrlError(OSError):
    """COOP_EMAIL_URL cannot be used; the message says why, without the password. An OSError
    like every other failure to send, so callers catch one kind of error."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str
    password: str
    implicit_tls: bool
    starttls: bool
    sender: str
    timeout: float


def parse_email_url(url: str, base_url: str = "") -> SmtpServer:
    """The SMTP server COOP_EMAIL_URL names."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise EmailUrlError("COOP_EMAIL_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise EmailUrlError("COOP_EMAIL_URL has no host")
    try:
        port = parts.port
    except ValueError:
        raise EmailUrlError("COOP_EMAIL_URL has an invalid port") from None
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"starttls", "from", "timeout"})
    if unknown:
        raise EmailUrlError(f"COOP_EMAIL_URL has unknown parameters: {', '.join(unknown)}")
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise EmailUrlError("COOP_EMAIL_URL timeout= must be a number of seconds") from None
    implicit_tls = parts.scheme == "smtps"
    starttls = query.get("starttls", "").lower() in _TRUE
    if implicit_tls and starttls:
        raise EmailUrlError("COOP_EMAIL_URL: smtps:// is already TLS; drop starttls=1")
    sender = query.get("from") or f"coop@{urlsplit(base_url).hostname or 'localhost'}"
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if implicit_tls else 25),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        implicit_tls=implicit_tls,
        starttls=starttls,
        sender=sender,
        timeout=timeout,
    )


def check_email_url(**kwargs) -> list[checks.CheckMessage]:
    """System check: a COOP_EMAIL_URL that cannot be used stops `coop serve`/`web`/`worker`
    at start-up rather than at the first email."""
    if not settings.COOP_EMAIL_URL:
        return []
    try:
        parse_email_url(settings.COOP_EMAIL_URL, settings.BASE_URL)
    except EmailUrlError as exc:
        return [checks.Error(str(exc), id="coop.E001")]
    return []


class LogBackend(BaseEmailBackend):
    """Writes each message to the log (COOP_EMAIL_URL unset)."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            log.info(
                "email (COOP_EMAIL_URL is not set, so it is logged, not sent)\n"
                "From: %s\nTo: %s\nSubject: %s\n\n%s",
                message.from_email,
                ", ".join(message.to),
                message.subject,
                message.body,
            )
        return len(email_messages)


def _backend() -> tuple[BaseEmailBackend, str]:
    if not settings.COOP_EMAIL_URL:
        return LogBackend(), f"coop@{urlsplit(settings.BASE_URL).hostname or 'localhost'}"
    server = parse_email_url(settings.COOP_EMAIL_URL, settings.BASE_URL)
    backend = EmailBackend(
        host=server.host,
        port=server.port,
        username=server.username or None,
        password=server.password or None,
        use_tls=server.starttls,
        use_ssl=server.implicit_tls,
        timeout=server.timeout,
        fail_silently=False,
    )
    return backend, server.sender


def send_mail(to: str | Sequence[str], subject: str, body: str) -> None:
    """Send a plain-text message; raises OSError (SMTPException and EmailUrlError are
    OSErrors) when the server does not take it, so the caller decides whether to retry."""
    recipients = [to] if isinstance(to, str) else list(to)
    backend, sender = _backend()
    # Header injection is refused by Django (BadHeaderError) for subjects with line breaks.
    EmailMessage(subject, body, sender, recipients, connection=backend).send()
