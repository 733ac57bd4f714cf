"""Outgoing email (invites, password resets) over SMTP, from `COOP_EMAIL_URL`.

`smtp://user:password@host:port` talks plain SMTP and upgrades with STARTTLS (certificate
verified) when the server offers it; `smtps://…` is TLS from the first byte. User and password
are optional (percent-encoded when they hold `@`, `:` or `/`); `?from=address` sets the sender,
`coop@<host of COOP_BASE_URL>` by default. Unset, the email is written to the log instead,
so a development install shows invite and reset links there.

Failures raise `OSError` (every smtplib and socket error is one) for the caller to report.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None
    sender: str


class EmailUrlError(OSError):
    """COOP_EMAIL_URL cannot be used (wrong scheme, no host)."""


def parse_email_url(url: str) -> SmtpServer:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise EmailUrlError("COOP_EMAIL_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise EmailUrlError("COOP_EMAIL_URL has no host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise EmailUrlError("COOP_EMAIL_URL has an invalid port") from exc
    sender = parse_qs(parts.query).get("from", [""])[0] or default_sender()
    return SmtpServer(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=sender,
    )


def default_sender() -> str:
    host = urlsplit(settings.BASE_URL).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return f"coop@{host}"
    return "coop@localhost"  # an address literal is no mail domain


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text email to one address (or log it when no server is configured)."""
    url = settings.COOP_EMAIL_URL
    if not url:
        log.warning(
            "COOP_EMAIL_URL is unset; email not sent. To: %s Subject: %s\n%s", to, subject, body
        )
        return
    server = parse_email_url(url)
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=server.sender.rpartition("@")[2] or None)
    message.set_content(body)
    context = ssl.create_default_context()
    if server.implicit_tls:
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
    with smtp:
        if not server.implicit_tls:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
        if server.username:
            smtp.login(server.username, server.password or "")
        smtp.send_message(message)
    log.info("email sent to %s: %s", to, subject)
