"""OpenID Connect relying party: the authorization code flow with state, nonce and PKCE (S256).

Authlib builds the protocol messages (the authorization URL, the PKCE challenge, the token
request) and checks the discovery document's endpoints (https, except loopback in
development); joserfc verifies the ID token's RS256 signature against the provider's JWKS.
Every HTTP call goes through `coop.outbound.guarded_client` (the SSRF policy of every URL that
comes from configuration) with a timeout and a cap on the answer's size.

ID token checks, each refusal with its reason: signature (RS256 only; the key by `kid`, the
JWKS fetched again once when the `kid` is unknown, so a key rotation is followed), `iss` equal
to the discovered issuer, `aud` containing the client id (and `azp` equal to it when there are
several audiences), `exp` in the future and `iat` not in it (60 s of clock skew), `nonce`
equal to the one this browser's flow sent. The email comes from the configured claim; an
`email_verified` claim that is false refuses the sign-in (an absent one is accepted: Azure AD
sends none).

Discovery documents and JWKS are cached per process for an hour.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.discovery import OpenIDProviderMetadata
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from coop.catalog.credentials import CredentialError, resolve_credential
from coop.outbound import guarded_client
from coop.sso.errors import SsoRefused
from coop.sso.models import SsoSettings

DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_DOCUMENT_BYTES = 512 * 1024
MAX_ID_TOKEN_CHARS = 64 * 1024
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
CACHE_SECONDS = 3600.0
LEEWAY_SECONDS = 60
FLOW_SECONDS = 600  # how long the person may take at the provider
MAX_FLOWS = 5  # flows one session keeps (tabs started in parallel)
BASIC, POST = "client_secret_basic", "client_secret_post"


class ProviderError(ValueError):
    """The provider could not be reached or answered something unusable (message says what)."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    auth_method: str  # BASIC or POST


@dataclass(frozen=True)
class Claims:
    email: str
    name: str
    subject: str


def redirect_uri() -> str:
    """The callback to register at the provider, from COOP_BASE_URL."""
    return f"{settings.BASE_URL}/sso/oidc/callback"


_lock = threading.Lock()
_providers: dict[str, tuple[float, Provider]] = {}
_key_sets: dict[str, tuple[float, KeySet]] = {}


def forget_cached() -> None:
    """Drop the cached discovery documents and key sets (after the settings change)."""
    with _lock:
        _providers.clear()
        _key_sets.clear()


def _cached(cache: dict, key: str):
    with _lock:
        entry = cache.get(key)
    if entry and time.monotonic() - entry[0] < CACHE_SECONDS:
        return entry[1]
    return None


def _store(cache: dict, key: str, value) -> None:
    with _lock:
        cache[key] = (time.monotonic(), value)


# --- HTTP --------------------------------------------------------------------------------


def _json(response: httpx.Response, url: str) -> dict[str, Any]:
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
        raise ProviderError(f"{url} answered {declared} bytes, more than {MAX_DOCUMENT_BYTES}")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_DOCUMENT_BYTES:
            raise ProviderError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(bytes(body))
    except ValueError as exc:
        raise ProviderError(f"{url} did not answer JSON (HTTP {response.status_code})") from exc
    if not isinstance(document, dict):
        raise ProviderError(f"{url} answered JSON that is not an object")
    return document


def _request(method: str, url: str, **kwargs) -> tuple[int, dict[str, Any]]:
    try:
        with guarded_client() as client, client.stream(method, url, timeout=TIMEOUT, **kwargs) as r:
            return r.status_code, _json(r, url)
    except httpx.TimeoutException as exc:
        raise ProviderError(f"{url} did not answer within {TIMEOUT.read:g} s") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ProviderError(f"could not reach {url}: {exc}") from exc


def _get(url: str) -> dict[str, Any]:
    status, document = _request("GET", url, headers={"Accept": "application/json"})
    if status != 200:
        raise ProviderError(f"{url} answered HTTP {status}")
    return document


# --- Discovery and keys --------------------------------------------------------------------


def discover(issuer: str, *, fresh: bool = False) -> Provider:
    """The provider's endpoints from its discovery document (OpenID Connect Discovery 1.0)."""
    if not fresh and (provider := _cached(_providers, issuer)):
        return provider
    url = issuer.rstrip("/") + DISCOVERY_PATH
    document = _get(url)
    fields = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    for field in fields:
        if not isinstance(document.get(field), str) or not document[field]:
            raise ProviderError(f"{url} has no {field}")
    metadata = OpenIDProviderMetadata(document)
    try:
        metadata.validate_issuer()
        metadata.validate_authorization_endpoint()
        metadata.validate_token_endpoint()
        metadata.validate_jwks_uri()
    except ValueError as exc:
        raise ProviderError(f"{url}: {exc}".replace('"', "")) from exc
    if document["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise ProviderError(f"{url} names the issuer {document['issuer']!r}, not {issuer!r}")
    algorithms = document.get("id_token_signing_alg_values_supported")
    if isinstance(algorithms, list) and "RS256" not in algorithms:
        raise ProviderError(f"{url}: the provider does not sign ID tokens with RS256")
    methods = document.get("token_endpoint_auth_methods_supported") or [BASIC]
    if BASIC in methods:
        method = BASIC
    elif POST in methods:
        method = POST
    else:
        raise ProviderError(f"{url}: the token endpoint takes neither {BASIC} nor {POST}")
    provider = Provider(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        auth_method=method,
    )
    _store(_providers, issuer, provider)
    return provider


def _key_set(jwks_uri: str, *, fresh: bool = False) -> KeySet:
    if not fresh and (keys := _cached(_key_sets, jwks_uri)):
        return keys
    document = _get(jwks_uri)
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise ProviderError(f"{jwks_uri} is not a JWK Set (no keys)")
    signing = [
        key
        for key in entries
        if isinstance(key, dict) and key.get("kty") == "RSA" and key.get("use", "sig") == "sig"
    ]
    try:
        keys = KeySet.import_key_set({"keys": signing})
    except (JoseError, ValueError, TypeError) as exc:
        raise ProviderError(f"{jwks_uri} has no usable RSA signing key ({exc})") from exc
    _store(_key_sets, jwks_uri, keys)
    return keys


# --- The flow ------------------------------------------------------------------------------


def start(sso: SsoSettings) -> tuple[str, dict[str, Any]]:
    """The provider URL to send the browser to, and the flow to keep in its session."""
    try:
        provider = discover(sso.oidc_issuer)
    except ProviderError as exc:
        raise SsoRefused(f"discovery failed: {exc}") from exc
    flow = {
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(48),  # 64 characters (RFC 7636: 43 to 128)
        "started": time.time(),
    }
    url = prepare_grant_uri(
        provider.authorization_endpoint,
        client_id=sso.oidc_client_id,
        response_type="code",
        redirect_uri=redirect_uri(),
        scope=sso.oidc_scopes,
        state=flow["state"],
        nonce=flow["nonce"],
        code_challenge=create_s256_code_challenge(flow["verifier"]),
        code_challenge_method="S256",
    )
    return url, flow


def remember(flows: dict[str, Any] | None, flow: dict[str, Any]) -> dict[str, Any]:
    """The session's flows with `flow` added: expired ones dropped, at most MAX_FLOWS kept."""
    now = time.time()
    kept = {
        state: f
        for state, f in (flows or {}).items()
        if isinstance(f, dict) and now - f.get("started", 0) < FLOW_SECONDS
    }
    kept[flow["state"]] = flow
    return dict(sorted(kept.items(), key=lambda item: item[1]["started"])[-MAX_FLOWS:])


def take_flow(flows: dict[str, Any] | None, state: str) -> dict[str, Any]:
    """The flow that `state` names, removed from `flows` (single use), or SsoRefused."""
    flows = flows if isinstance(flows, dict) else {}
    match = next((s for s in flows if _same(s, state)), None) if state else None
    if match is None:
        raise SsoRefused("the state matches no sign-in started in this browser (CSRF or replay)")
    flow = flows.pop(match)
    if time.time() - flow.get("started", 0) >= FLOW_SECONDS:
        raise SsoRefused(f"the sign-in took longer than {FLOW_SECONDS} s")
    return flow


def finish(sso: SsoSettings, flow: dict[str, Any], code: str) -> Claims:
    """Redeem `code` at the token endpoint and verify the ID token; SsoRefused otherwise."""
    if not code:
        raise SsoRefused("the callback has no code")
    try:
        provider = discover(sso.oidc_issuer)
        secret = resolve_credential(sso.oidc_client_secret)
    except (ProviderError, CredentialError) as exc:
        raise SsoRefused(str(exc)) from exc
    body = prepare_token_request(
        "authorization_code", code=code, redirect_uri=redirect_uri(), code_verifier=flow["verifier"]
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if provider.auth_method == BASIC:
        # RFC 6749 §2.3.1: both parts form-urlencoded before base64.
        pair = f"{quote(sso.oidc_client_id, safe='')}:{quote(secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    else:
        body += "&" + "&".join(
            f"{name}={quote(value, safe='')}"
            for name, value in (("client_id", sso.oidc_client_id), ("client_secret", secret))
        )
    try:
        status, answer = _request("POST", provider.token_endpoint, content=body, headers=headers)
    except ProviderError as exc:
        raise SsoRefused(f"token request failed: {exc}") from exc
    if status != 200:
        error = str(answer.get("error", ""))[:100]
        description = str(answer.get("error_description", ""))[:300]
        raise SsoRefused(f"the token endpoint answered HTTP {status} {error}: {description}")
    id_token = answer.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise SsoRefused("the token response has no id_token")
    claims = verify_id_token(id_token, provider, sso.oidc_client_id, flow["nonce"])
    return Claims(
        email=_email(claims, sso.oidc_email_claim),
        name=str(claims.get("name") or "")[:200],
        subject=str(claims["sub"]),
    )


def verify_id_token(token: str, provider: Provider, client_id: str, nonce: str) -> dict:
    """The ID token's claims once every check passed; SsoRefused naming the failed one."""
    if len(token) > MAX_ID_TOKEN_CHARS:
        raise SsoRefused(f"the ID token is longer than {MAX_ID_TOKEN_CHARS} characters")
    try:
        decoded = _decode(token, provider.jwks_uri)
    except ProviderError as exc:
        raise SsoRefused(f"the JWKS could not be read: {exc}") from exc
    claims = decoded.claims
    now = time.time()
    if claims.get("iss") != provider.issuer:
        raise SsoRefused(f"the ID token's issuer {claims.get('iss')!r} is not {provider.issuer!r}")
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else audiences
    if not isinstance(audiences, list) or client_id not in audiences:
        raise SsoRefused(f"the ID token's audience {claims.get('aud')!r} is not this client")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SsoRefused(f"the ID token has several audiences and azp {claims.get('azp')!r}")
    if not _number(claims.get("exp")) or claims["exp"] <= now - LEEWAY_SECONDS:
        raise SsoRefused(f"the ID token expired (exp {claims.get('exp')!r})")
    if not _number(claims.get("iat")) or claims["iat"] > now + LEEWAY_SECONDS:
        raise SsoRefused(f"the ID token's iat {claims.get('iat')!r} is missing or in the future")
    if not isinstance(claims.get("nonce"), str) or not _same(claims["nonce"], nonce):
        raise SsoRefused("the ID token's nonce is not the one this sign-in sent")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SsoRefused("the ID token has no sub")
    return claims


def _decode(token: str, jwks_uri: str):
    for fresh in (False, True):
        try:
            return jwt.decode(token, _key_set(jwks_uri, fresh=fresh), algorithms=["RS256"])
        except InvalidKeyIdError as exc:
            if fresh:
                raise SsoRefused(f"the ID token's key is not in the JWKS ({exc})") from exc
        except BadSignatureError as exc:
            raise SsoRefused("the ID token's signature does not verify") from exc
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise SsoRefused(f"the ID token is not an RS256 JWT ({exc!r})") from exc
    raise AssertionError("unreachable: the second pass returns or raises")


def _same(a: str, b: str) -> bool:
    """Constant-time equality of two strings (any characters, unlike secrets.compare_digest)."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _email(claims: dict, claim: str) -> str:
    email = claims.get(claim)
    if not isinstance(email, str) or not email.strip():
        raise SsoRefused(f"the ID token has no {claim!r} claim")
    verified = claims.get("email_verified")
    if verified is False or (isinstance(verified, str) and verified.lower() == "false"):
        raise SsoRefused("the provider says the email is not verified (email_verified false)")
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise SsoRefused(f"the {claim!r} claim is not an email address") from exc
    return email.lower()
