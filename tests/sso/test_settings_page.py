"""Settings → SSO: what it shows, what it saves, and the field each bad input is reported on."""

from __future__ import annotations

import socket

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from coop.accounts.models import Role
from coop.accounts.services import create_user
from coop.catalog.credentials import resolve_credential
from coop.sso import oidc, saml, services
from coop.sso.models import PasswordSignIn, SsoSettings
from sso.conftest import CLIENT_ID

URL = "/settings/sso"
PASSWORD = "correct horse battery staple"


def saml_form(**fields) -> dict:
    values = {"enabled": "on", "metadata": "", "email_attribute": "email", "label": "Okta"}
    values.update(fields)
    return {"section": "saml", **{f"saml-{k}": v for k, v in values.items() if v is not None}}


def oidc_form(**fields) -> dict:
    values = {
        "enabled": "on",
        "issuer": "",
        "client_id": CLIENT_ID,
        "client_secret": "the-secret",
        "email_claim": "email",
        "scopes": "openid email",
        "label": "Keycloak",
    }
    values.update(fields)
    return {"section": "oidc", **{f"oidc-{k}": v for k, v in values.items() if v is not None}}


def sign_in_form(**fields) -> dict:
    values = {"password_sign_in": "EVERYONE", "jit_domains": ""}
    values.update(fields)
    return {"section": "sign_in", **{f"sign_in-{k}": v for k, v in values.items() if v is not None}}


def errors(response, form: str) -> dict:
    return {name: list(e) for name, e in response.context["forms"][form].errors.items()}


def test_the_page_shows_what_to_give_the_identity_provider(admin_client):
    body = admin_client.get(URL).content.decode()
    sp = saml.service_provider()
    for value in (sp.entity_id, sp.acs_url, sp.metadata_url, oidc.redirect_uri()):
        assert f'value="{value}"' in body
    assert sp.acs_url == "http://127.0.0.1:8000/sso/saml/acs"  # from COOP_BASE_URL


def test_saml_metadata_pasted_or_uploaded_is_saved_and_summarised(admin_client, xmlsec, idp_keys):
    from sso.idp import SamlIdp

    idp = SamlIdp(idp_keys[0], ("sp", "acs"))  # only its metadata: no server needed
    response = admin_client.post(URL, saml_form(metadata=idp.metadata()))
    assert response.status_code == 302
    stored = SsoSettings.objects.get()
    assert (stored.saml_enabled, stored.saml_label, stored.saml_metadata) == (
        True,
        "Okta",
        idp.metadata(),
    )
    page = admin_client.get(URL).content.decode()
    assert idp.entity_id in page
    assert idp.sso_url in page
    assert "CN=test-idp" in page
    upload = SimpleUploadedFile("idp.xml", idp.metadata().encode(), "text/xml")
    response = admin_client.post(URL, saml_form(metadata="", metadata_file=upload))
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"metadata": "<EntityDescriptor"}, "metadata", "is not well-formed SAML metadata"),
        ({"metadata": "<a/>"}, "metadata", "describes no identity provider"),
        (
            {"metadata": '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'},
            "metadata",
            "uses XML entities",
        ),
        ({"metadata": ""}, "metadata", "Paste the IdP metadata"),
        ({"label": ""}, "label", "This field is required"),
        ({"email_attribute": "e mail"}, "email_attribute", "no spaces"),
        (
            {"metadata_file": SimpleUploadedFile("x.xml", b"\xff\xfe<", "text/xml")},
            "metadata_file",
            "not UTF-8",
        ),
    ],
)
def test_bad_saml_settings_name_the_field_and_save_nothing(admin_client, fields, field, message):
    response = admin_client.post(URL, saml_form(**fields))
    assert response.status_code == 400
    found = errors(response, "saml")
    assert any(message in text for text in found.get(field, [])), found
    assert not SsoSettings.objects.exists()


def test_metadata_without_a_signing_certificate_or_redirect_binding_is_refused(admin_client):
    metadata = (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"'
        ' Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
    )
    response = admin_client.post(URL, saml_form(metadata=metadata))
    assert "has no signing certificate" in str(errors(response, "saml")["metadata"])
    response = admin_client.post(URL, saml_form(metadata=metadata.replace("Redirect", "POST")))
    assert "HTTP-Redirect binding" in str(errors(response, "saml")["metadata"])


def test_oidc_settings_are_discovered_and_the_secret_is_write_only(admin_client, db):
    from sso.idp import OidcProvider, running

    with running(OidcProvider(CLIENT_ID, "the-secret", oidc.redirect_uri())) as provider:
        response = admin_client.post(URL, oidc_form(issuer=provider.issuer + "/"))
        assert response.status_code == 302
        assert provider.hits_of("GET", "/.well-known/openid-configuration") == 1
    stored = SsoSettings.objects.get()
    assert stored.oidc_issuer == provider.issuer  # the provider's own spelling
    assert "the-secret" not in str(stored.oidc_client_secret)
    assert resolve_credential(stored.oidc_client_secret) == "the-secret"
    page = admin_client.get(URL).content.decode()
    assert "the-secret" not in page
    assert "Currently set (encrypted)" in page
    # Saving again without a secret keeps it (the provider is gone: only when disabled).
    response = admin_client.post(
        URL, oidc_form(enabled=None, client_secret="", issuer="https://idp.example")
    )
    assert response.status_code == 302
    assert resolve_credential(SsoSettings.objects.get().oidc_client_secret) == "the-secret"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_issuer_is_a_clear_error_on_its_field(admin_client, db):
    issuer = f"http://127.0.0.1:{_closed_port()}"
    response = admin_client.post(URL, oidc_form(issuer=issuer))
    assert response.status_code == 400
    assert "Discovery failed: could not reach" in str(errors(response, "oidc")["issuer"])
    assert not SsoSettings.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"issuer": ""}, "issuer", "Enter the issuer URL"),
        ({"issuer": "not a url"}, "issuer", "Enter a valid URL"),
        ({"client_id": "", "issuer": ""}, "client_id", "Enter the client ID"),
        ({"client_secret": "", "issuer": ""}, "client_secret", "Enter the client secret"),
        ({"scopes": "email profile"}, "scopes", "must include openid"),
        ({"scopes": 'openid "x'}, "scopes", "is not a valid scope"),
        ({"email_claim": "e mail"}, "email_claim", "no spaces"),
    ],
)
def test_bad_oidc_settings_name_the_field(admin_client, fields, field, message):
    response = admin_client.post(URL, oidc_form(**fields))
    assert response.status_code == 400
    assert any(message in text for text in errors(response, "oidc").get(field, []))
    assert not SsoSettings.objects.exists()


def test_an_issuer_that_names_another_issuer_is_refused(admin_client, db):
    from sso.idp import OidcProvider, running

    with running(OidcProvider(CLIENT_ID, "s", oidc.redirect_uri())) as provider:
        provider.issuer = "https://elsewhere.example"
        response = admin_client.post(URL, oidc_form(issuer=provider.url))
    assert "names the issuer 'https://elsewhere.example'" in str(errors(response, "oidc")["issuer"])


def test_sign_in_options(admin_client, db):
    response = admin_client.post(URL, sign_in_form(jit_enabled="on"))
    assert "Choose the role" in str(errors(response, "sign_in")["jit_role"])
    response = admin_client.post(URL, sign_in_form(jit_domains="example.com, not_a_domain"))
    assert "is not a domain name" in str(errors(response, "sign_in")["jit_domains"])
    role = Role.objects.get(name="Analyst")
    response = admin_client.post(
        URL,
        sign_in_form(
            jit_enabled="on",
            jit_role=role.pk,
            jit_domains="Example.com example.org",
            password_sign_in="ADMINS",
        ),
    )
    assert response.status_code == 302
    stored = SsoSettings.objects.get()
    assert (stored.jit_role, stored.jit_domains, stored.password_sign_in) == (
        role,
        ["example.com", "example.org"],
        "ADMINS",
    )


def test_sso_only_needs_an_sso_method_and_an_sso_signed_in_session(admin_client, saml_idp):
    response = admin_client.post(URL, sign_in_form(password_sign_in="NOBODY"))
    assert "Sign in with SSO first" in str(errors(response, "sign_in")["password_sign_in"])
    session = admin_client.session
    session["coop_sso_method"] = "saml"
    session.save()
    assert admin_client.post(URL, sign_in_form(password_sign_in="NOBODY")).status_code == 302
    assert SsoSettings.objects.get().password_sign_in == PasswordSignIn.NOBODY


def test_sso_only_is_refused_while_no_method_is_enabled(admin_client):
    session = admin_client.session
    session["coop_sso_method"] = "oidc"
    session.save()
    response = admin_client.post(URL, sign_in_form(password_sign_in="NOBODY"))
    assert "Enable SAML or OpenID Connect first" in str(errors(response, "sign_in"))


def test_settings_posts_need_the_csrf_token(make_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("Admin"))
    assert client.post(URL, sign_in_form(password_sign_in="ADMINS")).status_code == 403
    assert not SsoSettings.objects.exists()


# --- Password sign-in while SSO is on ----------------------------------------------------------


def _password_sign_in(client, email):
    return client.post("/login", {"email": email, "password": PASSWORD})


@pytest.mark.parametrize(
    ("level", "admin_may", "moderator_may"),
    [("EVERYONE", True, True), ("ADMINS", True, False), ("NOBODY", False, False)],
)
def test_who_may_use_a_password(client, saml_idp, level, admin_may, moderator_may):
    create_user("admin@example.com", "Admin", PASSWORD)
    create_user("mod@example.com", "Moderator", PASSWORD)
    services.save_sign_in(
        None, password_sign_in=level, jit_enabled=False, jit_role=None, jit_domains=[]
    )
    for email, may in (("admin@example.com", admin_may), ("mod@example.com", moderator_may)):
        response = _password_sign_in(client, email)
        if may:
            assert response.status_code == 302, email
            client.logout()
        else:
            assert response.status_code == 400
            assert "Your organisation signs in with SSO" in response.content.decode()
            assert "_auth_user_id" not in client.session
    # A wrong password still gets the message that reveals nothing.
    response = client.post("/login", {"email": "mod@example.com", "password": "wrong password!"})
    assert "Those details do not match" in response.content.decode()


def test_with_sso_off_the_password_rule_does_not_apply(client, db):
    create_user("admin@example.com", "Admin", PASSWORD)
    services.save_sign_in(
        None, password_sign_in="NOBODY", jit_enabled=False, jit_role=None, jit_domains=[]
    )
    assert _password_sign_in(client, "admin@example.com").status_code == 302


def test_the_sign_in_page_offers_the_enabled_methods(client, saml_idp, oidc_provider):
    body = client.get("/login?next=/queues").content.decode()
    assert 'href="/sso/saml/login?next=%2Fqueues">Test IdP</a>' in body
    assert 'href="/sso/oidc/login?next=%2Fqueues">Test provider</a>' in body


def test_the_sign_in_page_without_sso_has_no_buttons(client, db):
    assert "/sso/" not in client.get("/login").content.decode()


def test_the_command_turns_passwords_back_on(saml_idp, capsys):
    services.save_sign_in(
        None, password_sign_in="NOBODY", jit_enabled=False, jit_role=None, jit_domains=[]
    )
    call_command("sso", "password-sign-in", "everyone")
    assert SsoSettings.objects.get().password_sign_in == PasswordSignIn.EVERYONE
    out = capsys.readouterr().out
    assert "SAML: enabled" in out
    assert "Password sign-in: Everyone" in out


def test_saved_metadata_that_expired_is_flagged(admin_client):
    expired = (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"'
        ' validUntil="2001-01-01T00:00:00Z"/>'
    )
    SsoSettings.objects.create(saml_metadata=expired)
    body = admin_client.get(URL).content.decode()
    assert "The saved IdP metadata has expired" in body
