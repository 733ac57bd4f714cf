"""OpenID Connect sign-in against the local test provider: the code flow and every refusal."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client
from joserfc.jwk import RSAKey

from coop.accounts.models import User
from coop.sso import services
from factories import user
from sso.conftest import CLIENT_ID

PAGE_TEXT = "Sign-in with SSO failed"


def authorize(client: Client, provider, email: str, next_url: str | None = None) -> str:
    """Start at Coop, sign in at the provider over HTTP; the callback path Coop is sent to."""
    response = client.get("/sso/oidc/login", {"next": next_url} if next_url else {})
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    assert location.startswith(f"{provider.url}/authorize?")
    assert httpx.get(location).status_code == 200  # the provider's sign-in page
    form = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    approved = httpx.post(f"{provider.url}/authorize/approve", data={**form, "email": email})
    assert approved.status_code == 302, approved.text
    callback = urlsplit(approved.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}".endswith("/sso/oidc/callback")
    return f"{callback.path}?{callback.query}"


def signed_in(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_code_flow_signs_the_user_in(client, oidc_provider, caplog):
    alice = user("alice@example.com", "Moderator")
    callback = authorize(client, oidc_provider, "ALICE@example.com", next_url="/queues")
    with caplog.at_level(logging.INFO, logger="coop.sso"):
        response = client.get(callback)
    assert (response.status_code, response["Location"]) == (302, "/queues")
    assert signed_in(client) == alice
    assert client.session["coop_sso_method"] == "oidc"
    assert "SSO sign-in (oidc) of alice@example.com" in caplog.text
    for path in ("/.well-known/openid-configuration", "/jwks"):
        assert oidc_provider.hits_of("GET", path) == 1, path
    assert oidc_provider.hits_of("POST", "/token") == 1
    token_request = next(h for h in oidc_provider.hits if h.path == "/token")
    assert "client_secret" not in token_request.body.decode()  # sent as HTTP Basic


def _other_key():
    return RSAKey.generate_key(2048, parameters={"kid": "key-1"})


# (token options, a fragment of the logged reason)
REFUSALS = {
    "wrong signature": ({"signing_key": "other"}, "signature does not verify"),
    "wrong audience": ({"audience": "someone-else"}, "audience 'someone-else' is not this client"),
    "wrong issuer": ({"issuer": "https://evil.example"}, "issuer 'https://evil.example'"),
    "wrong nonce": ({"nonce": "n" * 43}, "nonce is not the one this sign-in sent"),
    "expired": ({"issued_ago": 3600, "expires_in": 300}, "the ID token expired"),
    "issued in the future": ({"issued_ago": -3600, "expires_in": 7200}, "iat"),
    "unknown kid": ({"kid": "key-9", "signing_key": "other"}, "key is not in the JWKS"),
    "several audiences, no azp": ({"audience": [CLIENT_ID, "other"]}, "several audiences"),
    "email not verified": ({"claims": {"email_verified": False}}, "email_verified false"),
    "no email": ({"claims": {"email": None}}, "no 'email' claim"),
    "not an email": ({"claims": {"email": "not-an-email"}}, "is not an email address"),
    "not a JWT": ({"raw": "not-a-token"}, "is not an RS256 JWT"),
    "header without alg": ({"raw": "e30.e30.e30"}, "is not an RS256 JWT"),
    "header not an object": ({"raw": "W10.e30.e30"}, "is not an RS256 JWT"),
    "alg none": ({"raw": "eyJhbGciOiJub25lIn0.e30."}, "is not an RS256 JWT"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_bad_id_tokens_are_refused_logged_and_create_no_user(
    client, oidc_provider, jit, caplog, case
):
    jit()
    options, reason = REFUSALS[case]
    for name, value in options.items():
        setattr(oidc_provider.options, name, _other_key() if value == "other" else value)
    callback = authorize(client, oidc_provider, "newcomer@example.com")
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        response = client.get(callback)
    assert response.status_code == 400
    body = response.content.decode()
    assert PAGE_TEXT in body
    assert reason not in body
    assert "SSO sign-in refused (oidc)" in caplog.text
    assert reason in caplog.text, caplog.text
    assert signed_in(client) is None
    assert not User.objects.exists()
    assert oidc_provider.hits_of("POST", "/token") == 1


def test_a_rotated_key_is_fetched_by_its_kid(client, oidc_provider):
    alice = user("alice@example.com", "Moderator")
    assert client.get(authorize(client, oidc_provider, "alice@example.com")).status_code == 302
    client.logout()
    oidc_provider.rotate()
    assert client.get(authorize(client, oidc_provider, "alice@example.com")).status_code == 302
    assert signed_in(client) == alice
    assert oidc_provider.hits_of("GET", "/jwks") == 2  # the cached set lacked key-2


def test_the_callback_works_once_and_only_in_the_browser_that_started(
    client, oidc_provider, caplog
):
    user("alice@example.com", "Moderator")
    callback = authorize(client, oidc_provider, "alice@example.com")
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        assert Client().get(callback).status_code == 400  # another browser: no such state
        assert client.get(callback).status_code == 302
        client.logout()
        assert client.get(callback).status_code == 400  # the state is used up
    assert caplog.text.count("the state matches no sign-in started in this browser") == 2
    assert oidc_provider.hits_of("POST", "/token") == 1


def test_a_provider_error_is_refused(client, oidc_provider, caplog):
    client.get("/sso/oidc/login")
    state = next(iter(client.session["coop_sso_oidc_flows"]))
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        response = client.get(
            "/sso/oidc/callback",
            {"state": state, "error": "access_denied", "error_description": "User said no"},
        )
    assert response.status_code == 400
    assert "the provider answered 'access_denied': User said no" in caplog.text
    assert oidc_provider.hits_of("POST", "/token") == 0


def test_a_wrong_client_secret_is_refused(client, oidc_provider, caplog):
    services.save_oidc(
        None,
        enabled=True,
        issuer=oidc_provider.issuer,
        client_id=CLIENT_ID,
        client_secret="not-the-secret",
        email_claim="email",
        scopes="openid email",
        label="SSO",
    )
    callback = authorize(client, oidc_provider, "alice@example.com")
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        assert client.get(callback).status_code == 400
    assert "HTTP 401 invalid_client" in caplog.text
    assert oidc_provider.problems == [
        "token request without the right client_secret_basic credentials"
    ]
    oidc_provider.problems.clear()


def test_just_in_time_and_a_custom_email_claim(client, oidc_provider, jit):
    jit()
    services.save_oidc(
        None,
        enabled=True,
        issuer=oidc_provider.issuer,
        client_id=CLIENT_ID,
        client_secret="s3cret/with+odd:chars",
        email_claim="upn",
        scopes="openid",
        label="SSO",
    )
    oidc_provider.options.claims = {"upn": "Person@Example.com", "email_verified": None}
    client.get(authorize(client, oidc_provider, "ignored@example.com"))
    created = User.objects.get()
    assert (created.email, created.role.name, created.name) == (
        "person@example.com",
        "Moderator",
        "Test Person",
    )


def test_without_just_in_time_unknown_people_get_the_ask_page(client, oidc_provider):
    response = client.get(authorize(client, oidc_provider, "newcomer@example.com"))
    assert response.status_code == 403
    assert "Ask your administrator to invite you" in response.content.decode()
    assert not User.objects.exists()


def test_an_unreachable_provider_stops_the_start_cleanly(client, oidc_provider, caplog):
    oidc_provider.__exit__(None, None, None)
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        response = client.get("/sso/oidc/login")
    assert response.status_code == 503
    assert "discovery failed: could not reach" in caplog.text


def test_the_start_keeps_a_few_flows_per_session(client, oidc_provider):
    for _ in range(7):
        client.get("/sso/oidc/login")
    assert len(client.session["coop_sso_oidc_flows"]) == 5


def test_odd_callback_parameters_are_refused_not_errors(client, oidc_provider):
    client.get("/sso/oidc/login")
    for query in ({"state": "é\u2603", "code": "x"}, {"state": ""}, {}, {"code": "x" * 5000}):
        # 400, or 429 once the address has failed twice (the throttle)
        assert client.get("/sso/oidc/callback", query).status_code in (400, 429), query
