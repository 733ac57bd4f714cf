"""coop.mail against a real SMTP server (aiosmtpd) on 127.0.0.1: plain with AUTH, STARTTLS and
implicit TLS, with a certificate the client verifies."""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from coop.mail import EmailUrlError, check_email_url, parse_email_url, send_mail
from smtp_server import self_signed_certificate

USER, PASSWORD = "coop@example.com", "p@ss word"


class Inbox:
    """An SMTP handler that keeps every message it is given."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def certificate():
    """A self-signed certificate for 127.0.0.1, trusted by the client through SSL_CERT_FILE."""
    return self_signed_certificate()


@pytest.fixture
def smtp_server(request):
    """Starts an SMTP server with the given keyword arguments; yields (inbox, port)."""
    started = []

    def start(**kwargs):
        inbox, port = Inbox(), free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return inbox, port

    yield start
    for controller in started:
        controller.stop()


def received(inbox: Inbox):
    assert len(inbox.messages) == 1, "the SMTP server received no message"
    sender, recipients, content = inbox.messages[0]
    return sender, recipients, message_from_bytes(content, policy=default_policy)


def test_plain_smtp_with_auth(settings, smtp_server):
    inbox, port = smtp_server(authenticator=authenticator, auth_require_tls=False)
    settings.COOP_EMAIL_URL = (
        f"smtp://coop%40example.com:p%40ss%20word@127.0.0.1:{port}?from=alerts@example.org"
    )
    send_mail("oncall@example.com", "NCMEC report failed", "Report 1 failed at upload.\nRetry.")
    sender, recipients, message = received(inbox)
    assert (sender, recipients) == ("alerts@example.org", ["oncall@example.com"])
    assert message["Subject"] == "NCMEC report failed"
    assert message["To"] == "oncall@example.com"
    assert message.get_content().replace("\r\n", "\n") == "Report 1 failed at upload.\nRetry.\n"


def test_starttls_verifies_the_certificate_and_authenticates(
    settings, smtp_server, certificate, monkeypatch
):
    inbox, port = smtp_server(
        authenticator=authenticator,
        tls_context=certificate.server,
        require_starttls=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.ca_file))
    settings.COOP_EMAIL_URL = f"smtp://coop%40example.com:p%40ss%20word@127.0.0.1:{port}?starttls=1"
    send_mail(["a@example.com", "b@example.com"], "Subject", "Body")
    sender, recipients, _ = received(inbox)
    assert recipients == ["a@example.com", "b@example.com"]
    assert sender == "coop@127.0.0.1"  # the host of COOP_BASE_URL


def test_starttls_refuses_an_untrusted_certificate(settings, smtp_server, certificate):
    inbox, port = smtp_server(tls_context=certificate.server, require_starttls=True)
    settings.COOP_EMAIL_URL = f"smtp://127.0.0.1:{port}?starttls=1"
    with pytest.raises(ssl.SSLError):
        send_mail("a@example.com", "Subject", "Body")
    assert inbox.messages == []


def test_implicit_tls(settings, smtp_server, certificate, monkeypatch):
    inbox, port = smtp_server(ssl_context=certificate.server)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.ca_file))
    settings.COOP_EMAIL_URL = f"smtps://127.0.0.1:{port}"
    send_mail("a@example.com", "Subject", "Body")
    assert received(inbox)[1] == ["a@example.com"]


def test_a_refused_login_raises(settings, smtp_server):
    inbox, port = smtp_server(
        authenticator=authenticator, auth_require_tls=False, auth_exclude_mechanism=["LOGIN"]
    )
    settings.COOP_EMAIL_URL = f"smtp://coop%40example.com:wrong@127.0.0.1:{port}"
    with pytest.raises(smtplib.SMTPAuthenticationError):
        send_mail("a@example.com", "Subject", "Body")
    assert inbox.messages == []


def test_unset_url_writes_the_message_to_the_log(settings, caplog):
    settings.COOP_EMAIL_URL = ""
    with caplog.at_level(logging.INFO, logger="coop.mail"):
        send_mail("oncall@example.com", "NCMEC report failed", "the body")
    (record,) = caplog.records
    assert "To: oncall@example.com" in record.getMessage()
    assert "Subject: NCMEC report failed" in record.getMessage()
    assert "the body" in record.getMessage()


def test_parse_defaults_and_decoding():
    server = parse_email_url("smtps://u%3Ax:p%2Fw@mail.example", "https://coop.example.org")
    assert (server.host, server.port, server.implicit_tls, server.starttls) == (
        "mail.example",
        465,
        True,
        False,
    )
    assert (server.username, server.password) == ("u:x", "p/w")
    assert server.sender == "coop@coop.example.org"
    assert server.timeout == 10
    assert parse_email_url("smtp://mail.example?starttls=1&timeout=3").port == 25


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example", "must start with smtp:// or smtps://"),
        ("smtp://", "has no host"),
        ("smtp://mail.example:99999", "invalid port"),
        ("smtp://mail.example?tls=1", "unknown parameters: tls"),
        ("smtp://mail.example?timeout=soon", "timeout= must be a number"),
        ("smtps://mail.example?starttls=1", "already TLS"),
    ],
)
def test_bad_urls_are_refused_with_the_reason_and_no_password(url, message):
    with pytest.raises(EmailUrlError, match=message):
        parse_email_url(url)


def test_system_check_stops_commands_on_a_bad_url(settings):
    settings.COOP_EMAIL_URL = "smtp://user:hunter2@mail.example?bogus=1"
    (error,) = check_email_url()
    assert error.id == "coop.E001"
    assert "hunter2" not in error.msg
    with pytest.raises(SystemCheckError, match="unknown parameters"):
        call_command("check")
    settings.COOP_EMAIL_URL = "smtp://mail.example"
    assert check_email_url() == []
