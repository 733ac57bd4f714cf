"""SAML 2.0 service provider (SP-initiated Web Browser SSO) on pysaml2.

pysaml2 verifies the response: the XML signature on the response or on the assertion (one of
them is required) against the signing certificates of the IdP's metadata, with the xmlsec1
program; the Destination and the bearer SubjectConfirmation's Recipient against the ACS URL;
NotBefore/NotOnOrAfter of the conditions and the confirmation (60 s of clock skew allowed);
the audience; and InResponseTo against the request Coop sent (unsolicited, IdP-initiated
responses are refused). On top of that Coop requires an AudienceRestriction (pysaml2 accepts
an assertion without one), and refuses a second use of a request or of an assertion ID
(replay). Every refusal raises `SsoRefused` with the reason for the log.

The IdP posts the response cross-site, without the SameSite=Lax session cookie, so the request
is kept in the database (`SamlRequest`) rather than in the session; see its docstring for how
the sign-in is tied back to the browser that started it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.attribute_converter import ac_factory
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.mdstore import InMemoryMetaData
from saml2.metadata import entity_descriptor

from coop.sso.errors import SsoRefused
from coop.sso.models import SamlRequest, SsoSettings

logger = logging.getLogger(__name__)

MAX_METADATA_BYTES = 1024 * 1024
# A real response is a few kilobytes; this bounds the work (base64, XML, xmlsec1) per request.
MAX_RESPONSE_CHARS = 256 * 1024
CLOCK_SKEW_SECONDS = 60
# How long the IdP may take to answer a request (the person signs in there meanwhile) ...
REQUEST_LIFETIME = timedelta(minutes=15)
# ... and how long the browser has to follow the ACS's redirect to the completion URL.
COMPLETION_WINDOW = timedelta(minutes=2)
PRUNE_AFTER = timedelta(days=1)
PROTOCOL_NS = "urn:oasis:names:tc:SAML:2.0:protocol"
NAME_ATTRIBUTES = (
    "displayName",
    "name",
    "cn",
    "http://schemas.microsoft.com/identity/claims/displayname",
)


class MetadataError(ValueError):
    """IdP metadata Coop cannot use; the message completes "The IdP metadata …"."""


@dataclass(frozen=True)
class ServiceProvider:
    """What the IdP needs to know about Coop (shown on the settings page)."""

    entity_id: str
    acs_url: str
    metadata_url: str


@dataclass(frozen=True)
class Certificate:
    subject: str
    not_after: datetime


@dataclass(frozen=True)
class IdentityProvider:
    entity_id: str
    sso_url: str
    certificates: tuple[Certificate, ...]


def service_provider() -> ServiceProvider:
    """Coop's SP addresses, from COOP_BASE_URL. The entity id is the metadata URL."""
    base = settings.BASE_URL
    return ServiceProvider(
        entity_id=f"{base}/sso/saml/metadata",
        acs_url=f"{base}/sso/saml/acs",
        metadata_url=f"{base}/sso/saml/metadata",
    )


def xmlsec_problem() -> str | None:
    """Why SAML cannot verify signatures on this machine, or None."""
    if shutil.which("xmlsec1") is None:
        return (
            "SAML needs the xmlsec1 program to verify signatures, and it is not installed "
            "(apt-get install xmlsec1)"
        )
    return None


def read_idp_metadata(xml: str) -> IdentityProvider:
    """The one identity provider that `xml` describes, or MetadataError saying what is wrong."""
    if len(xml.encode("utf-8")) > MAX_METADATA_BYTES:
        raise MetadataError(f"is larger than {MAX_METADATA_BYTES // 1024} KB")
    metadata = InMemoryMetaData(ac_factory(), xml)
    try:
        metadata.load()
    except Exception as exc:  # pysaml2 wraps expat's, defusedxml's and its own errors alike
        cause = exc.__cause__ or exc
        if isinstance(cause, DefusedXmlException):
            raise MetadataError("uses XML entities or a DTD, which Coop does not accept") from exc
        raise MetadataError(f"is not well-formed SAML metadata ({cause})") from exc
    if metadata.to_old:
        raise MetadataError("has expired (its validUntil is in the past); download it again")
    idps = [eid for eid, entity in metadata.entity.items() if "idpsso_descriptor" in entity]
    if not idps:
        raise MetadataError("describes no identity provider (no IDPSSODescriptor for SAML 2.0)")
    if len(idps) > 1:
        raise MetadataError(f"describes {len(idps)} identity providers; paste the one for Coop")
    entity_id = idps[0]
    services = metadata.service(
        entity_id, "idpsso_descriptor", "single_sign_on_service", BINDING_HTTP_REDIRECT
    )
    if not services:
        raise MetadataError("has no SingleSignOnService with the HTTP-Redirect binding")
    pems = metadata.certs(entity_id, "idpsso", use="signing")
    if not pems:
        raise MetadataError("has no signing certificate (KeyDescriptor with an X509Certificate)")
    return IdentityProvider(
        entity_id=entity_id,
        sso_url=services[0]["location"],
        certificates=tuple(_certificate(text) for _, text in pems),
    )


def _certificate(text: str) -> Certificate:
    """The certificate of an X509Certificate element (base64 DER, in lines)."""
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))
    except (ValueError, binascii.Error) as exc:
        raise MetadataError("has a signing certificate that is not valid X.509") from exc
    return Certificate(subject=cert.subject.rfc4514_string(), not_after=cert.not_valid_after_utc)


def _config(sso: SsoSettings) -> SPConfig:
    problem = xmlsec_problem()
    if problem:
        raise SsoRefused(problem)
    sp = service_provider()
    config = SPConfig()
    config.load(
        {
            "entityid": sp.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "service": {
                "sp": {
                    "endpoints": {"assertion_consumer_service": [(sp.acs_url, BINDING_HTTP_POST)]},
                    "allow_unsolicited": False,
                    "authn_requests_signed": False,
                    "want_response_signed": False,
                    "want_assertions_signed": False,
                    "want_assertions_or_response_signed": True,
                }
            },
            "metadata": {"inline": [sso.saml_metadata]} if sso.saml_metadata else {},
            "accepted_time_diff": CLOCK_SKEW_SECONDS,
            "allow_unknown_attributes": True,
        }
    )
    return config


def sp_metadata_xml(sso: SsoSettings) -> str:
    """Coop's SP metadata, for IdPs that import it."""
    return str(entity_descriptor(_config(sso)))


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start(sso: SsoSettings, next_url: str, browser_secret: str) -> str:
    """Record a new AuthnRequest and return the IdP URL (HTTP-Redirect binding) to send the
    browser to. `browser_secret` is the random value this browser's session keeps."""
    try:
        idp = read_idp_metadata(sso.saml_metadata)
    except MetadataError as exc:
        raise SsoRefused(f"the IdP metadata {exc}") from exc
    client = Saml2Client(_config(sso))
    request_id, info = client.prepare_for_authenticate(
        entityid=idp.entity_id, binding=BINDING_HTTP_REDIRECT
    )
    now = timezone.now()
    SamlRequest.objects.filter(created_at__lt=now - PRUNE_AFTER).delete()
    SamlRequest.objects.create(
        id=request_id, browser=_hash(browser_secret), next_url=next_url, created_at=now
    )
    return dict(info["headers"])["Location"]


def _in_response_to(encoded: str) -> str:
    """The InResponseTo of a (not yet verified) response, to find the request it answers;
    a response for another Destination is refused before any signature is checked."""
    if len(encoded) > MAX_RESPONSE_CHARS:
        raise SsoRefused(f"SAMLResponse is larger than {MAX_RESPONSE_CHARS} characters")
    try:
        root = ElementTree.fromstring(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise SsoRefused("SAMLResponse is not base64") from exc
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise SsoRefused(f"SAMLResponse is not well-formed XML ({exc})") from exc
    if root.tag != f"{{{PROTOCOL_NS}}}Response":
        raise SsoRefused(f"SAMLResponse is a {root.tag}, not a samlp:Response")
    destination = root.get("Destination")
    if destination is not None and destination != service_provider().acs_url:
        raise SsoRefused(f"the response's Destination {destination[:200]!r} is not the ACS URL")
    in_response_to = root.get("InResponseTo")
    if not in_response_to:
        raise SsoRefused("the response has no InResponseTo (IdP-initiated sign-in is refused)")
    return in_response_to


def consume(sso: SsoSettings, encoded: str) -> str:
    """Verify the IdP's response (base64, as posted) and return the one-time completion token;
    SsoRefused if any check fails. The request it answers cannot be answered again."""
    request_id = _in_response_to(encoded)
    now = timezone.now()
    pending = SamlRequest.objects.filter(
        id=request_id, consumed_at__isnull=True, created_at__gte=now - REQUEST_LIFETIME
    ).first()
    if pending is None:
        raise SsoRefused(
            f"InResponseTo {request_id[:100]!r} matches no pending request "
            "(unknown, expired or already answered: a replay)"
        )
    client = Saml2Client(_config(sso))
    try:
        response = client.parse_authn_request_response(
            encoded,
            BINDING_HTTP_POST,
            outstanding={pending.id: pending.next_url},
            # pysaml2 checks the Recipient only when given conversation info. Its address
            # (the SubjectConfirmationData Address check) stays "any": behind a proxy the
            # client address the IdP saw is not reliably the one Coop sees.
            conv_info={"remote_addr": "0.0.0.0"},  # noqa: S104 - not a bind address
        )
    except Exception as exc:  # pysaml2 raises bare Exception for some checks (audience)
        raise SsoRefused(f"the response failed verification: {type(exc).__name__}: {exc}") from exc
    if response is None or response.assertion is None:
        raise SsoRefused("the response holds no usable assertion")
    assertion = response.assertion
    if not _restricted_to_us(assertion):
        raise SsoRefused("the assertion's AudienceRestriction does not name Coop's entity id")
    email = _email(response, sso.saml_email_attribute)
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            updated = SamlRequest.objects.filter(pk=pending.pk, consumed_at__isnull=True).update(
                consumed_at=timezone.now(),
                assertion_id=assertion.id,
                email=email,
                name=_attribute(assertion, NAME_ATTRIBUTES)[:200],
                token_hash=_hash(token),
            )
    except IntegrityError as exc:
        raise SsoRefused(f"assertion {assertion.id!r} was already used (a replay)") from exc
    if not updated:
        raise SsoRefused(f"request {request_id!r} was answered concurrently (a replay)")
    return token


def complete(token: str, browser_secret: str | None) -> SamlRequest:
    """The verified sign-in that `token` stands for, once, in the browser that started it."""
    row = SamlRequest.objects.filter(
        token_hash=_hash(token),
        consumed_at__gte=timezone.now() - COMPLETION_WINDOW,
        completed_at__isnull=True,
    ).first()
    if row is None:
        raise SsoRefused("the completion link is unknown, expired or already used")
    if not browser_secret or not secrets.compare_digest(row.browser, _hash(browser_secret)):
        raise SsoRefused("the sign-in was started in another browser session")
    if not SamlRequest.objects.filter(pk=row.pk, completed_at__isnull=True).update(
        completed_at=timezone.now()
    ):
        raise SsoRefused("the completion link was used concurrently")
    return row


def _restricted_to_us(assertion) -> bool:
    """Whether the assertion has an AudienceRestriction and each one names Coop. (pysaml2
    accepts none at all, and one matching restriction among several.)"""
    entity_id = service_provider().entity_id
    restrictions = assertion.conditions.audience_restriction if assertion.conditions else []
    return bool(restrictions) and all(
        any((audience.text or "").strip() == entity_id for audience in restriction.audience)
        for restriction in restrictions
    )


def _attribute(assertion, names: tuple[str, ...]) -> str:
    """The first value of the first attribute called (Name or FriendlyName) one of `names`."""
    wanted = [name.lower() for name in names]
    found: dict[str, str] = {}
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            for key in (attribute.name, attribute.friendly_name):
                values = [v.text.strip() for v in attribute.attribute_value if v.text]
                if key and values and key.lower() in wanted:
                    found.setdefault(key.lower(), values[0])
    return next((found[name] for name in wanted if name in found), "")


def _email(response, attribute_name: str) -> str:
    if attribute_name:
        email = _attribute(response.assertion, (attribute_name,))
        source = f"attribute {attribute_name!r}"
    else:
        email = (response.name_id.text or "").strip() if response.name_id else ""
        source = "NameID"
    if not email:
        raise SsoRefused(f"the assertion has no {source}")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise SsoRefused(f"the assertion's {source} is not an email address") from exc
    return email.lower()
