"""SAML and OpenID Connect sign-in in a real browser, through the local test IdPs' own pages.

The IdPs listen on 127.0.0.1 and the console on localhost: different sites, so the SAML
response is a cross-site POST (no session cookie), as with a real IdP.
"""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import expect

from coop.accounts.services import create_user
from coop.sso import oidc, saml, services
from factories import user
from sso.idp import OidcProvider, SamlIdp, make_key_pair, running

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def base_url(settings, live_server):
    """Coop's public URL is the live server's, so the ACS and redirect URI point at it."""
    settings.BASE_URL = live_server.url
    oidc.forget_cached()
    return live_server.url


@pytest.fixture
def saml_idp(base_url, tmp_path):
    if shutil.which("xmlsec1") is None:
        if os.environ.get("CI"):
            pytest.fail("xmlsec1 is not installed: CI must run the SAML tests")
        pytest.skip("xmlsec1 is not installed")
    sp = saml.service_provider()
    with running(SamlIdp(make_key_pair(tmp_path, "test-idp"), (sp.entity_id, sp.acs_url))) as idp:
        services.save_saml(
            None,
            enabled=True,
            metadata=idp.metadata(),
            email_attribute="email",
            label="Sign in with Test IdP",
        )
        yield idp


@pytest.fixture
def oidc_provider(base_url):
    with running(OidcProvider("coop", "s3cret", oidc.redirect_uri())) as provider:
        services.save_oidc(
            None,
            enabled=True,
            issuer=provider.issuer,
            client_id="coop",
            client_secret="s3cret",
            email_claim="email",
            scopes="openid email",
            label="Sign in with Keycloak",
        )
        yield provider


def test_saml_sign_in(page, saml_idp, oidc_provider, screenshot_dir):
    user("alice@example.com", "Moderator")
    page.goto("/queues")
    expect(page.get_by_role("link", name="Sign in with Test IdP")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in with Keycloak")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/sso-login.png")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    expect(page).to_have_url(f"{saml_idp.url}/sso?" + page.url.split("?", 1)[1])
    page.get_by_label("Email").fill("Alice@Example.com")
    page.get_by_role("button", name="Sign in to the test IdP").click()
    page.get_by_role("button", name="Continue to Coop").click()
    expect(page).to_have_url("/queues")
    expect(page.get_by_text("alice@example.com", exact=True)).to_be_visible()


def test_oidc_sign_in_and_the_ask_page(page, oidc_provider, screenshot_dir):
    user("alice@example.com", "Moderator")
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Keycloak").click()
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_role("button", name="Sign in to the test provider").click()
    expect(page).to_have_url("/")
    expect(page.get_by_text("alice@example.com", exact=True)).to_be_visible()
    assert oidc_provider.hits_of("POST", "/token") == 1

    page.get_by_role("button", name="Sign out").click()
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Keycloak").click()
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_role("button", name="Sign in to the test provider").click()
    expect(page.get_by_role("alert")).to_contain_text("Ask your administrator to invite you")
    page.screenshot(path=f"{screenshot_dir}/sso-no-account.png")


def test_the_settings_page(page, sign_in, saml_idp, oidc_provider, screenshot_dir):
    create_user("admin@example.com", "Admin", PASSWORD)
    sign_in("admin@example.com", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="SSO").click()
    expect(page.get_by_role("heading", name="Single sign-on")).to_be_visible()
    expect(page.get_by_label("ACS URL (single sign-on URL, HTTP-POST)")).to_have_value(
        f"{page.url.split('/settings')[0]}/sso/saml/acs"
    )
    expect(page.get_by_text("CN=test-idp")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/sso-settings.png", full_page=True)

    page.get_by_label("IdP metadata XML").fill("<EntityDescriptor")
    page.get_by_role("button", name="Save SAML settings").click()
    expect(page.get_by_text("The IdP metadata is not well-formed SAML metadata")).to_be_visible()
    page.get_by_label("IdP metadata XML").screenshot(path=f"{screenshot_dir}/sso-field.png")
    page.screenshot(path=f"{screenshot_dir}/sso-settings-error.png", full_page=True)
