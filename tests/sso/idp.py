"""Local test identity providers: real HTTP servers on 127.0.0.1, each in a thread.

`SamlIdp` speaks SAML 2.0 Web Browser SSO: it takes an AuthnRequest by the HTTP-Redirect
binding (checking it as the profile requires), shows a sign-in page, and answers by the
HTTP-POST binding with a Response it builds from the SAML schema and signs with the xmlsec1
program (enveloped RSA-SHA256 signatures, exclusive C14N) with a test key and self-signed
certificate. Coop's SAML library is not used to build anything here.

`OidcProvider` speaks OpenID Connect: discovery, a JWKS, an authorization endpoint (checking
the request: code flow, the registered redirect URI, state, nonce, a PKCE S256 challenge) and a
token endpoint (checking client_secret_basic authentication, the code, the redirect URI and the
PKCE verifier); its ID tokens are RS256 JWTs signed with joserfc.

Each records what it received (`hits`) and every deviation from the protocol (`problems`);
the fixtures fail a test that leaves a problem.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import secrets
import subprocess
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit
from xml.etree import ElementTree

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.jwk import RSAKey

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


# --- A tiny HTTP server ----------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def page(title: str, body: str, status: int = 200) -> Answer:
    document = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title></head>"
        f"<body style='font-family:sans-serif;margin:3rem'>{body}</body></html>"
    )
    return Answer(status, document.encode())


def json_answer(document: dict, status: int = 200) -> Answer:
    return Answer(status, json.dumps(document).encode(), "application/json")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        owner: LocalServer = self.server.owner
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            self.command,
            split.path,
            parse_qs(split.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(length) if length else b"",
        )
        with owner.lock:
            owner.hits.append(request)
        route = owner.routes.get((self.command, split.path))
        answer = route(request) if route else Answer(404, b"not found", "text/plain")
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = _handle

    def log_message(self, format, *args):
        pass


class LocalServer:
    def __init__(self):
        self.routes: dict[tuple[str, str], Callable[[Request], Answer]] = {}
        self.hits: list[Request] = []
        self.problems: list[str] = []
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.daemon = True

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()

    def hits_of(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for hit in self.hits if (hit.method, hit.path) == (method, path))

    def problem(self, message: str) -> Answer:
        with self.lock:
            self.problems.append(message)
        return Answer(400, message.encode(), "text/plain")


# --- Keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    key_path: Path
    cert_path: Path
    cert_base64: str  # the DER certificate, as X509Certificate elements carry it


def make_key_pair(directory: Path, name: str) -> KeyPair:
    """An RSA-2048 key and a self-signed certificate valid for a month, in PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    der = cert.public_bytes(serialization.Encoding.DER)
    return KeyPair(key_path, cert_path, base64.b64encode(der).decode())


# --- SAML ------------------------------------------------------------------------------------


def _instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signature_template(reference: str, cert_base64: str) -> str:
    return (
        '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
        '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f'<ds:Reference URI="#{reference}"><ds:Transforms>'
        '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
        '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
        "<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"
        "<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data>"
        f"<ds:X509Certificate>{cert_base64}</ds:X509Certificate>"
        "</ds:X509Data></ds:KeyInfo></ds:Signature>"
    )


def xmlsec_sign(document: str, keys: KeyPair) -> str:
    """Fill in the first signature template of `document` (in document order) with xmlsec1."""
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "in.xml"
        source.write_text(document)
        signed = subprocess.run(
            [
                "xmlsec1",
                "--sign",
                "--privkey-pem",
                f"{keys.key_path},{keys.cert_path}",
                "--id-attr:ID",
                f"{SAMLP}:Response",
                "--id-attr:ID",
                f"{SAML}:Assertion",
                str(source),
            ],
            capture_output=True,
            check=True,
        )
    return signed.stdout.decode()


@dataclass
class SamlOptions:
    """How the next response deviates from a correct one (the tests' knobs)."""

    sign_assertion: bool = True
    sign_response: bool = False
    audience: str | None = None  # None: the SP's entity id
    recipient: str | None = None  # None: the ACS URL the request named
    destination: str | None = None
    issued: timedelta = timedelta(0)  # shifts every instant (negative: in the past)
    lifetime: timedelta = timedelta(minutes=5)
    in_response_to: str | None = None  # None: the request's ID
    email_attribute: str = "email"
    name: str = "Test Person"
    signing_keys: KeyPair | None = None  # None: the IdP's own (published) key
    audience_restriction: bool = True


@dataclass
class SeenAuthnRequest:
    id: str
    acs_url: str
    issuer: str
    relay_state: str | None


class SamlIdp(LocalServer):
    """A SAML IdP. `expected_sp` is (entity id, ACS URL): requests naming others are refused."""

    def __init__(self, keys: KeyPair, expected_sp: tuple[str, str]):
        super().__init__()
        self.keys = keys
        self.entity_id = f"{self.url}/idp"
        self.sso_url = f"{self.url}/sso"
        self.sp_entity_id, self.acs_url = expected_sp
        self.options = SamlOptions()
        self.requests: list[SeenAuthnRequest] = []
        self.routes[("GET", "/metadata")] = lambda r: Answer(
            200, self.metadata().encode(), "application/samlmetadata+xml"
        )
        self.routes[("GET", "/sso")] = self._sso
        self.routes[("POST", "/sso/approve")] = self._approve

    def metadata(self) -> str:
        return (
            f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{self.entity_id}">'
            f'<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
            f'protocolSupportEnumeration="{SAMLP}">'
            '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>'
            f"<ds:X509Certificate>{self.keys.cert_base64}</ds:X509Certificate>"
            "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            f"<md:NameIDFormat>{EMAIL_FORMAT}</md:NameIDFormat>"
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            f'Location="{self.sso_url}"/>'
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
            f'Location="{self.sso_url}"/>'
            "</md:IDPSSODescriptor></md:EntityDescriptor>"
        )

    def read_request(self, url: str) -> SeenAuthnRequest:
        """Decode and check an AuthnRequest sent by the HTTP-Redirect binding (SAML bindings
        §3.4: DEFLATE, base64, URL-encoded); AssertionError naming what is wrong."""
        query = parse_qs(urlsplit(url).query)
        assert urlsplit(url).path == "/sso", url
        assert list(query) in (["SAMLRequest"], ["SAMLRequest", "RelayState"]), query.keys()
        xml = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15)
        root = ElementTree.fromstring(xml)  # noqa: S314 - Coop's own request, in a test
        assert root.tag == f"{{{SAMLP}}}AuthnRequest", root.tag
        assert root.get("Version") == "2.0"
        assert root.get("Destination") == self.sso_url, root.get("Destination")
        assert root.get("ProtocolBinding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        assert root.get("AssertionConsumerServiceURL") == self.acs_url
        issued = datetime.strptime(root.get("IssueInstant"), "%Y-%m-%dT%H:%M:%SZ")
        assert abs(issued.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=2)
        request_id = root.get("ID")
        assert request_id, "the request has no ID"
        assert request_id[0].isalpha() or request_id[0] == "_", request_id  # an xsd:ID
        issuer = root.find(f"{{{SAML}}}Issuer")
        assert issuer is not None, "the request has no Issuer"
        assert issuer.text == self.sp_entity_id, issuer.text
        seen = SeenAuthnRequest(
            request_id,
            root.get("AssertionConsumerServiceURL"),
            issuer.text,
            query.get("RelayState", [None])[0],
        )
        self.requests.append(seen)
        return seen

    def _sso(self, request: Request) -> Answer:
        try:
            seen = self.read_request(f"/sso?{urlencode(request.query, doseq=True)}")
        except (AssertionError, ValueError, zlib.error, ElementTree.ParseError) as exc:
            return self.problem(f"bad AuthnRequest: {exc!r}")
        return page(
            "Test IdP",
            "<h1>Test IdP</h1><form method=post action=/sso/approve>"
            f"<input type=hidden name=request value='{html.escape(seen.id)}'>"
            "<label>Email <input name=email type=email value='' autofocus></label> "
            "<button>Sign in to the test IdP</button></form>",
        )

    def _approve(self, request: Request) -> Answer:
        form = request.form()
        seen = next((r for r in self.requests if r.id == form["request"][0]), None)
        if seen is None:
            return self.problem("approve for an unknown request")
        encoded = self.response(seen.id, form["email"][0])
        return page(
            "Test IdP",
            f"<form method=post action='{html.escape(seen.acs_url)}'>"
            f"<input type=hidden name=SAMLResponse value='{encoded}'>"
            "<button>Continue to Coop</button></form>",
        )

    def response_xml(self, request_id: str, email: str) -> str:
        o = self.options
        now = datetime.now(UTC) + o.issued
        response_id, assertion_id = f"_{uuid.uuid4().hex}", f"_{uuid.uuid4().hex}"
        answered = o.in_response_to or request_id
        recipient = o.recipient or self.acs_url
        until = _instant(now + o.lifetime)
        audience = o.audience or self.sp_entity_id
        restriction = (
            f"<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience>"
            "</saml:AudienceRestriction>"
            if o.audience_restriction
            else ""
        )
        keys = o.signing_keys or self.keys
        assertion = (
            f'<saml:Assertion xmlns:saml="{SAML}" ID="{assertion_id}" Version="2.0" '
            f'IssueInstant="{_instant(now)}"><saml:Issuer>{self.entity_id}</saml:Issuer>'
            + (_signature_template(assertion_id, keys.cert_base64) if o.sign_assertion else "")
            + f'<saml:Subject><saml:NameID Format="{EMAIL_FORMAT}">{email}</saml:NameID>'
            f'<saml:SubjectConfirmation Method="{BEARER}"><saml:SubjectConfirmationData '
            f'InResponseTo="{answered}" Recipient="{recipient}" NotOnOrAfter="{until}"/>'
            "</saml:SubjectConfirmation></saml:Subject>"
            f'<saml:Conditions NotBefore="{_instant(now - timedelta(seconds=30))}" '
            f'NotOnOrAfter="{until}">{restriction}</saml:Conditions>'
            f'<saml:AuthnStatement AuthnInstant="{_instant(now)}" SessionIndex="{assertion_id}">'
            "<saml:AuthnContext><saml:AuthnContextClassRef>"
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
            "<saml:AttributeStatement>"
            f'<saml:Attribute Name="{o.email_attribute}">'
            f"<saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute>"
            '<saml:Attribute Name="displayName">'
            f"<saml:AttributeValue>{o.name}</saml:AttributeValue></saml:Attribute>"
            "</saml:AttributeStatement></saml:Assertion>"
        )
        head = (
            f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{response_id}" '
            f'Version="2.0" IssueInstant="{_instant(now)}" '
            f'Destination="{o.destination or self.acs_url}" InResponseTo="{answered}">'
            f"<saml:Issuer>{self.entity_id}</saml:Issuer>"
        )
        tail = (
            '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
            f"</samlp:Status>{assertion}</samlp:Response>"
        )
        document = head + tail
        if o.sign_assertion:
            document = xmlsec_sign(document, keys)
        if o.sign_response:
            document = document.replace(
                f"<saml:Issuer>{self.entity_id}</saml:Issuer>",
                f"<saml:Issuer>{self.entity_id}</saml:Issuer>"
                + _signature_template(response_id, keys.cert_base64),
                1,
            )
            document = xmlsec_sign(document, keys)
        return document

    def response(self, request_id: str, email: str) -> str:
        """The base64 SAMLResponse answering `request_id` for `email` (with `self.options`)."""
        return base64.b64encode(self.response_xml(request_id, email).encode()).decode()


# --- OpenID Connect --------------------------------------------------------------------------


@dataclass
class TokenOptions:
    """How the next ID token deviates from a correct one."""

    issuer: str | None = None
    audience: str | list[str] | None = None
    nonce: str | None = None
    expires_in: int = 300
    issued_ago: int = 0
    kid: str = "key-1"
    signing_key: RSAKey | None = None  # None: the published key named `kid`
    claims: dict = field(default_factory=dict)  # added or replacing (None removes)
    raw: str | None = None  # sent instead of a token


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str
    email: str
    used: bool = False


def _rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


class OidcProvider(LocalServer):
    def __init__(self, client_id: str, client_secret: str, redirect_uri: str):
        super().__init__()
        self.issuer = self.url
        self.client_id, self.client_secret, self.redirect_uri = (
            client_id,
            client_secret,
            redirect_uri,
        )
        self.keys = {"key-1": _rsa_key("key-1")}
        self.options = TokenOptions()
        self.grants: dict[str, Grant] = {}
        self.discovery_extra: dict = {}
        self.routes[("GET", "/.well-known/openid-configuration")] = self._discovery
        self.routes[("GET", "/jwks")] = lambda r: json_answer(
            {"keys": [key.as_dict(private=False) for key in self.keys.values()]}
        )
        self.routes[("GET", "/authorize")] = self._authorize
        self.routes[("POST", "/authorize/approve")] = self._approve
        self.routes[("POST", "/token")] = self._token

    def rotate(self) -> None:
        """Publish a second key and sign with it from now on."""
        self.keys["key-2"] = _rsa_key("key-2")
        self.options.kid = "key-2"

    def _discovery(self, request: Request) -> Answer:
        return json_answer(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
                **self.discovery_extra,
            }
        )

    def check_authorization(self, query: dict[str, list[str]]) -> dict[str, str]:
        """OpenID Connect Core §3.1.2.1 with RFC 7636; AssertionError naming what is wrong."""
        single = {name: values[0] for name, values in query.items()}
        assert all(len(values) == 1 for values in query.values()), query
        assert single.get("response_type") == "code", single
        assert single.get("client_id") == self.client_id, single
        assert single.get("redirect_uri") == self.redirect_uri, single
        assert "openid" in single.get("scope", "").split(), single
        assert len(single.get("state", "")) >= 32, single
        assert len(single.get("nonce", "")) >= 32, single
        assert single.get("code_challenge_method") == "S256", single
        assert len(single.get("code_challenge", "")) == 43, single  # base64url SHA-256
        return single

    def approve(self, query: dict[str, list[str]], email: str) -> str:
        """Authorize the request for `email`: the callback URL with code and state."""
        single = self.check_authorization(query)
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            single["client_id"],
            single["redirect_uri"],
            single["nonce"],
            single["code_challenge"],
            email,
        )
        return f"{single['redirect_uri']}?{urlencode({'code': code, 'state': single['state']})}"

    def _authorize(self, request: Request) -> Answer:
        try:
            self.check_authorization(request.query)
        except AssertionError as exc:
            return self.problem(f"bad authorization request: {exc}")
        hidden = "".join(
            f"<input type=hidden name='{html.escape(k)}' value='{html.escape(v[0])}'>"
            for k, v in request.query.items()
        )
        return page(
            "Test OpenID provider",
            "<h1>Test OpenID provider</h1><form method=post action=/authorize/approve>"
            f"{hidden}<label>Email <input name=email type=email autofocus></label> "
            "<button>Sign in to the test provider</button></form>",
        )

    def _approve(self, request: Request) -> Answer:
        form = request.form()
        email = form.pop("email")[0]
        try:
            location = self.approve(form, email)
        except AssertionError as exc:
            return self.problem(f"bad authorization request: {exc}")
        return Answer(302, b"", headers={"Location": location})

    def _client_authenticated(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
        # RFC 6749 §2.3.1: each part is form-urlencoded before base64.
        return (unquote(client_id), unquote(secret)) == (self.client_id, self.client_secret)

    def _token(self, request: Request) -> Answer:
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return self.problem(f"token request Content-Type {request.headers.get('content-type')}")
        if not self._client_authenticated(request):
            self.problem("token request without the right client_secret_basic credentials")
            return json_answer({"error": "invalid_client"}, 401)
        form = {name: values[0] for name, values in request.form().items()}
        grant = self.grants.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or grant is None or grant.used:
            return json_answer({"error": "invalid_grant"}, 400)
        grant.used = True
        if form.get("redirect_uri") != grant.redirect_uri:
            return self.problem("token request redirect_uri differs from the authorization's")
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return self.problem("token request code_verifier does not match the challenge")
        return json_answer(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant),
            }
        )

    def id_token(self, grant: Grant) -> str:
        o = self.options
        if o.raw is not None:
            return o.raw
        now = int(time.time()) - o.issued_ago
        claims = {
            "iss": o.issuer or self.issuer,
            "sub": hashlib.sha256(grant.email.encode()).hexdigest()[:20],
            "aud": o.audience or grant.client_id,
            "exp": now + o.expires_in,
            "iat": now,
            "nonce": o.nonce or grant.nonce,
            "email": grant.email,
            "email_verified": True,
            "name": "Test Person",
        }
        for name, value in o.claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = o.signing_key or self.keys[o.kid]
        return jwt.encode({"alg": "RS256", "kid": o.kid, "typ": "JWT"}, claims, key)


@contextlib.contextmanager
def running(server: LocalServer):
    with server:
        yield server
    assert server.problems == [], server.problems
