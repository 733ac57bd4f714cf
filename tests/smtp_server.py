"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd in a thread): it receives what
coop.mail sends, checks the login, and keeps each message as parsed email for the test to read
(the links in invites and reset emails)."""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import re
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from coop.bench.harness import free_port

LINK = re.compile(r"https?://\S+")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def body(self) -> str:
        return self.message.get_content()

    @property
    def link(self) -> str:
        """The (first) link in the body."""
        found = LINK.search(self.body)
        assert found, f"no link in the email:\n{self.body}"
        return found.group(0)


@dataclass
class Handler:
    messages: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self.arrived.notify_all()
        return "250 OK"


class SmtpServer:
    """`with SmtpServer() as smtp:` … `smtp.url` for COOP_EMAIL_URL, `smtp.wait(1)`."""

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
    ):
        self.handler = Handler()
        self.username, self.password = username, password
        self.port = free_port()
        self.implicit_tls = implicit_tls is not None
        kwargs = {}
        if username:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
            # With implicit TLS aiosmtpd does not see the TLS (the socket below it does it).
            kwargs["auth_require_tls"] = starttls is not None
        if starttls is not None:
            kwargs.update(tls_context=starttls, require_starttls=True)
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ssl_context=implicit_tls, **kwargs
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.handler.logins.append((login, password))
        ok = (login, password) == (self.username, self.password)
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535

    @property
    def url(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        credentials = f"{self.username}:{self.password}@" if self.username else ""
        return f"{scheme}://{credentials}127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def wait(self, count: int = 1, seconds: float = 20) -> list[Received]:
        """Until `count` messages have arrived; fails after `seconds`."""
        deadline = time.monotonic() + seconds
        with self.handler.arrived:
            while len(self.handler.messages) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.handler.messages)} of {count} emails arrived"
                self.handler.arrived.wait(left)
            return list(self.handler.messages)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1: `server` context, and `ca_file` to trust it."""

    server: ssl.SSLContext
    ca_file: Path


def self_signed_certificate() -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coop-test-smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="coop-smtp-tls-"))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return Certificate(server=context, ca_file=cert_file)
