"""SAML sign-in against the local test IdP: accepted responses and every refused kind."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client

from coop.accounts.models import User
from coop.accounts.services import deactivate_user
from coop.sso import saml
from coop.sso.models import SamlRequest
from factories import user

PAGE_TEXT = "Sign-in with SSO failed"


def start(client: Client, idp, next_url: str | None = None):
    """Coop's redirect to the IdP, checked by the IdP as it would check a real one."""
    response = client.get("/sso/saml/login", {"next": next_url} if next_url else {})
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith(idp.sso_url + "?")
    return idp.read_request(response["Location"])


def post(client: Client, encoded: str):
    """The browser posting the IdP's form to the ACS, then following Coop's redirect."""
    response = client.post("/sso/saml/acs", {"SAMLResponse": encoded})
    if response.status_code != 302:
        return response
    assert response["Location"].startswith("/sso/saml/complete?token=")
    return client.get(response["Location"])


def signed_in(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_signs_in_the_user_with_that_email_whatever_its_case(client, saml_idp, caplog):
    alice = user("alice@example.com", "Moderator")
    response = client.get("/sso/saml/login", {"next": "/queues"})
    # Through the IdP's pages over HTTP, as a browser goes.
    idp_page = httpx.get(response["Location"])
    assert idp_page.status_code == 200
    assert "Test IdP" in idp_page.text
    request_id = saml_idp.requests[-1].id
    answer = httpx.post(
        f"{saml_idp.url}/sso/approve", data={"request": request_id, "email": "Alice@Example.COM"}
    )
    encoded = answer.text.split("name=SAMLResponse value='")[1].split("'")[0]
    with caplog.at_level(logging.INFO, logger="coop.sso"):
        final = post(client, encoded)
    assert (final.status_code, final["Location"]) == (302, "/queues")
    assert signed_in(client) == alice
    assert client.get("/queues").status_code == 200
    alice.refresh_from_db()
    assert alice.last_login is not None
    assert "SSO sign-in (saml) of alice@example.com" in caplog.text
    assert saml_idp.hits_of("GET", "/sso") == 1


def test_a_signed_response_with_an_unsigned_assertion_is_accepted(client, saml_idp):
    alice = user("alice@example.com", "Moderator")
    saml_idp.options.sign_assertion = False
    saml_idp.options.sign_response = True
    request = start(client, saml_idp)
    assert post(client, saml_idp.response(request.id, "alice@example.com")).status_code == 302
    assert signed_in(client) == alice


def test_the_nameid_is_used_when_no_email_attribute_is_configured(client, saml_idp):
    from coop.sso import services

    services.save_saml(
        None, enabled=True, metadata=saml_idp.metadata(), email_attribute="", label="IdP"
    )
    alice = user("alice@example.com", "Moderator")
    saml_idp.options.email_attribute = "somethingElse"
    request = start(client, saml_idp)
    post(client, saml_idp.response(request.id, "alice@example.com"))
    assert signed_in(client) == alice


def _tampered(idp, request_id):
    xml = idp.response_xml(request_id, "mallory@example.com")
    xml = xml.replace("mallory@example.com", "alice@example.com")
    return base64.b64encode(xml.encode()).decode()


# (options to set, how the response is made, a fragment of the logged reason)
REFUSALS = {
    "tampered": ({}, _tampered, "SignatureError: Failed to verify signature"),
    "unsigned": ({"sign_assertion": False}, None, "Neither the response nor the assertions"),
    "signed by another key": ({"signing_keys": "attacker"}, None, "SignatureError"),
    "expired": ({"issued": timedelta(minutes=-20)}, None, "too old"),
    "not yet valid": ({"issued": timedelta(minutes=20)}, None, "Can't use response yet"),
    "another audience": (
        {"audience": "https://other.example/sp"},
        None,
        "AudienceRestrictions conditions not satisfied",
    ),
    "no audience": ({"audience_restriction": False}, None, "AudienceRestriction does not name"),
    "another recipient": (
        {"recipient": "https://other.example/acs"},
        None,
        "No valid recipient",
    ),
    "another destination": ({"destination": "https://other.example/acs"}, None, "Destination"),
    "answers another request": ({"in_response_to": "_unknown"}, None, "matches no pending"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_bad_responses_are_refused_logged_and_create_no_user(
    client, saml_idp, idp_keys, jit, caplog, case
):
    jit()  # even with just-in-time accounts on, nothing is created
    options, make, reason = REFUSALS[case]
    for name, value in options.items():
        setattr(saml_idp.options, name, idp_keys[1] if value == "attacker" else value)
    request = start(client, saml_idp)
    encoded = make(saml_idp, request.id) if make else saml_idp.response(request.id, "x@example.com")
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        response = post(client, encoded)
    assert response.status_code == 400
    assert PAGE_TEXT in response.content.decode()
    assert reason not in response.content.decode()
    assert "SSO sign-in refused (saml)" in caplog.text
    assert reason in caplog.text, caplog.text
    assert signed_in(client) is None
    assert User.objects.count() == 0


def test_a_replayed_response_is_refused(client, saml_idp, caplog):
    alice = user("alice@example.com", "Moderator")
    request = start(client, saml_idp)
    encoded = saml_idp.response(request.id, "alice@example.com")
    assert post(client, encoded).status_code == 302
    other = Client()
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        again = post(other, encoded)
        assert post(client, encoded).status_code == 400
    assert again.status_code == 400
    assert "already answered: a replay" in caplog.text
    assert signed_in(other) is None
    assert signed_in(client) == alice


def test_a_response_planted_in_another_browser_is_refused(client, saml_idp, caplog):
    """Login CSRF: the attacker's own valid response, posted from the victim's browser."""
    user("mallory@example.com", "Admin")
    attacker = Client()
    request = start(attacker, saml_idp)
    encoded = saml_idp.response(request.id, "mallory@example.com")
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        response = post(client, encoded)
    assert response.status_code == 400
    assert "started in another browser session" in caplog.text
    assert signed_in(client) is None


def test_the_completion_link_works_once(client, saml_idp, caplog):
    user("alice@example.com", "Moderator")
    request = start(client, saml_idp)
    acs = client.post(
        "/sso/saml/acs", {"SAMLResponse": saml_idp.response(request.id, "alice@example.com")}
    )
    assert client.get(acs["Location"]).status_code == 302
    client.logout()
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        assert client.get(acs["Location"]).status_code == 400
    assert "unknown, expired or already used" in caplog.text


def test_idp_initiated_and_malformed_posts_are_refused(client, saml_idp, caplog):
    unsolicited = saml_idp.response_xml("_x", "alice@example.com").replace(
        ' InResponseTo="_x"', "", 1
    )
    bodies = {
        "IdP-initiated": base64.b64encode(unsolicited.encode()).decode(),
        "not base64": "%%%",
        "not XML": base64.b64encode(b"<Response").decode(),
        "entities": base64.b64encode(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>').decode(),
        "empty": "",
        "huge": "A" * (saml.MAX_RESPONSE_CHARS + 4),
    }
    for name, body in bodies.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="coop.sso"):
            response = Client().post("/sso/saml/acs", {"SAMLResponse": body})
        assert response.status_code in (400, 429), name
        if response.status_code == 400:
            assert "SSO sign-in refused (saml)" in caplog.text, name


def test_refusals_count_as_failed_sign_ins_from_the_address(client, saml_idp):
    """Two refused responses from one address: its next attempt must wait (as for passwords)."""
    for _ in range(2):
        request = start(client, saml_idp)
        saml_idp.options.sign_assertion = False
        assert post(client, saml_idp.response(request.id, "x@example.com")).status_code == 400
    request = start(client, saml_idp)
    saml_idp.options.sign_assertion = True
    response = client.post("/sso/saml/acs", {"SAMLResponse": saml_idp.response(request.id, "x")})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


def test_unknown_people_are_asked_to_get_an_invite(client, saml_idp, caplog):
    request = start(client, saml_idp)
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        response = post(client, saml_idp.response(request.id, "newcomer@example.com"))
    assert response.status_code == 403
    assert "Ask your administrator to invite you" in response.content.decode()
    assert "just-in-time creation off" in caplog.text
    assert not User.objects.exists()


def test_just_in_time_creates_the_user_with_the_default_role(client, saml_idp, jit):
    jit()
    request = start(client, saml_idp)
    post(client, saml_idp.response(request.id, "Newcomer@Example.com"))
    created = User.objects.get()
    assert (created.email, created.role.name, created.name) == (
        "newcomer@example.com",
        "Moderator",
        "Test Person",
    )
    assert not created.has_usable_password()
    assert signed_in(client) == created


def test_just_in_time_only_for_the_listed_domains(client, saml_idp, jit, caplog):
    jit(["example.org"])
    request = start(client, saml_idp)
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        response = post(client, saml_idp.response(request.id, "someone@example.com"))
    assert response.status_code == 403
    assert "example.com is not a just-in-time domain" in caplog.text
    assert not User.objects.exists()


def test_deactivated_users_are_refused_and_deactivation_ends_sso_sessions(client, saml_idp):
    alice = user("alice@example.com", "Moderator")
    request = start(client, saml_idp)
    post(client, saml_idp.response(request.id, "alice@example.com"))
    assert client.get("/queues").status_code == 200
    deactivate_user(alice)
    assert client.get("/queues").status_code == 302  # back to the sign-in page
    request = start(client, saml_idp)
    response = post(client, saml_idp.response(request.id, "alice@example.com"))
    assert response.status_code == 403
    assert "deactivated" in response.content.decode()
    assert signed_in(client) is None


def test_sp_metadata_names_the_acs_and_entity_id(client, saml_idp):
    response = client.get("/sso/saml/metadata")
    assert response["Content-Type"] == "application/samlmetadata+xml"
    sp = saml.service_provider()
    body = response.content.decode()
    assert f'entityID="{sp.entity_id}"' in body
    assert f'Location="{sp.acs_url}"' in body
    assert "HTTP-POST" in body


def test_saml_off_means_its_endpoints_answer_not_set_up(client, db):
    assert client.get("/sso/saml/login").status_code == 404
    assert client.post("/sso/saml/acs", {"SAMLResponse": "x"}).status_code == 404


def test_the_acs_takes_the_idps_post_without_a_csrf_token(saml_idp):
    """The POST binding carries no Coop CSRF token; the ACS is exempt, the rest is not."""
    browser = Client(enforce_csrf_checks=True)
    request = start(browser, saml_idp)
    user("alice@example.com", "Moderator")
    response = browser.post(
        "/sso/saml/acs", {"SAMLResponse": saml_idp.response(request.id, "alice@example.com")}
    )
    assert response.status_code == 302
    assert browser.post("/logout").status_code == 403


def test_old_requests_are_pruned_and_expired_ones_refused(client, saml_idp, caplog):
    request = start(client, saml_idp)
    SamlRequest.objects.filter(pk=request.id).update(
        created_at=SamlRequest.objects.get(pk=request.id).created_at - saml.REQUEST_LIFETIME
    )
    with caplog.at_level(logging.WARNING, logger="coop.sso"):
        assert post(client, saml_idp.response(request.id, "a@example.com")).status_code == 400
    assert "matches no pending request" in caplog.text
    SamlRequest.objects.update(created_at=SamlRequest.objects.get().created_at - saml.PRUNE_AFTER)
    start(client, saml_idp)
    assert not SamlRequest.objects.filter(pk=request.id).exists()
    assert urlsplit(saml.service_provider().acs_url).path == "/sso/saml/acs"
