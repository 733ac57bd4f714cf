"""coop.mail against a real local SMTP server (aiosmtpd): plain with login, STARTTLS and
implicit TLS with a verified certificate, the log when COOP_EMAIL_URL is unset, failures."""

from __future__ import annotations

import logging

import pytest

from coop import mail
from coop.bench.harness import free_port
from smtp_server import SmtpServer, self_signed_certificate

# The plain-SMTP login test logs in without TLS on purpose (a relay on a private network).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def test_plain_smtp_with_login_delivers_the_message(settings):
    with SmtpServer(username="coop", password="p@ss:word") as smtp:
        settings.COOP_EMAIL_URL = (
            smtp.url.replace("p@ss:word", "p%40ss%3Aword") + "?from=t%26s@example.org"
        )
        mail.send_mail("ana@example.com", "Hello", "Line one\nhttps://coop.example/x\n")
        [received] = smtp.wait(1)
    assert smtp.handler.logins == [("coop", "p@ss:word")]
    assert received.mail_from == "t&s@example.org"
    assert received.rcpt_tos == ["ana@example.com"]
    assert received.message["Subject"] == "Hello"
    assert received.message["From"] == "t&s@example.org"
    assert received.message["Message-ID"]
    assert received.link == "https://coop.example/x"


def test_default_sender_is_coop_at_the_base_url_host(settings):
    settings.BASE_URL = "https://coop.example.org"
    with SmtpServer() as smtp:
        settings.COOP_EMAIL_URL = smtp.url
        mail.send_mail("ana@example.com", "Hi", "body")
        [received] = smtp.wait(1)
    assert received.mail_from == "coop@coop.example.org"


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_tls_is_used_and_the_certificate_checked(settings, monkeypatch, mode):
    certificate = self_signed_certificate()
    kwargs = {"starttls" if mode == "starttls" else "implicit_tls": certificate.server}
    with SmtpServer(username="coop", password="secret", **kwargs) as smtp:
        # STARTTLS is asked for explicitly (README: `?starttls=1`); smtps:// is TLS throughout.
        settings.COOP_EMAIL_URL = smtp.url + ("?starttls=1" if mode == "starttls" else "")
        # Not trusted: refused before any credential or message is sent.
        with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
            mail.send_mail("ana@example.com", "Hi", "body")
        assert smtp.messages == []
        assert smtp.handler.logins == []
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate.ca_file))
        mail.send_mail("ana@example.com", "Hi", "body")
        smtp.wait(1)
    assert smtp.handler.logins == [("coop", "secret")]


def test_wrong_password_raises(settings):
    with SmtpServer(username="coop", password="secret") as smtp:
        settings.COOP_EMAIL_URL = smtp.url.replace("secret", "wrong")
        with pytest.raises(OSError, match="535"):
            mail.send_mail("ana@example.com", "Hi", "body")
        assert smtp.messages == []


def test_unset_url_writes_the_email_to_the_log(settings, caplog):
    settings.COOP_EMAIL_URL = ""
    with caplog.at_level(logging.INFO, logger="coop.mail"):
        mail.send_mail("ana@example.com", "Your link", "https://coop.example/invite/abc")
    assert "ana@example.com" in caplog.text
    assert "https://coop.example/invite/abc" in caplog.text


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.com", "smtp:// or smtps://"),
        ("smtp://", "no host"),
        ("smtp://mail.example.com:notaport", "invalid port"),
    ],
)
def test_unusable_urls_are_errors(settings, url, message):
    settings.COOP_EMAIL_URL = url
    with pytest.raises(OSError, match=message):
        mail.send_mail("ana@example.com", "Hi", "body")


def test_server_down_raises(settings):
    settings.COOP_EMAIL_URL = f"smtp://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionRefusedError):
        mail.send_mail("ana@example.com", "Hi", "body")
