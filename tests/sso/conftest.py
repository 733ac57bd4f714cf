"""Fixtures of the SSO tests: the local test IdPs, and Coop configured to use them."""

from __future__ import annotations

import os
import shutil

import pytest

from coop.accounts.models import Role
from coop.sso import oidc, saml, services
from sso.idp import OidcProvider, SamlIdp, make_key_pair, running

CLIENT_ID = "coop-client"
CLIENT_SECRET = "s3cret/with+odd:chars"


@pytest.fixture(scope="session")
def xmlsec():
    """SAML needs the xmlsec1 program: skipped without it, except under CI, which has it."""
    if shutil.which("xmlsec1") is None:
        message = "xmlsec1 is not installed (apt-get install -y xmlsec1)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run the SAML tests")
        pytest.skip(message)


@pytest.fixture(scope="session")
def idp_keys(tmp_path_factory):
    directory = tmp_path_factory.mktemp("idp-keys")
    return make_key_pair(directory, "test-idp"), make_key_pair(directory, "attacker")


@pytest.fixture(autouse=True)
def _fresh_oidc_cache():
    oidc.forget_cached()
    yield
    oidc.forget_cached()


@pytest.fixture
def saml_idp(db, xmlsec, idp_keys):
    """A test SAML IdP, and Coop's SAML settings pointing at it (enabled)."""
    sp = saml.service_provider()
    with running(SamlIdp(idp_keys[0], (sp.entity_id, sp.acs_url))) as idp:
        services.save_saml(
            None, enabled=True, metadata=idp.metadata(), email_attribute="email", label="Test IdP"
        )
        yield idp


@pytest.fixture
def oidc_provider(db):
    """A test OpenID provider, and Coop's OIDC settings pointing at it (enabled)."""
    with running(OidcProvider(CLIENT_ID, CLIENT_SECRET, oidc.redirect_uri())) as provider:
        services.save_oidc(
            None,
            enabled=True,
            issuer=provider.issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            email_claim="email",
            scopes="openid email profile",
            label="Test provider",
        )
        yield provider


@pytest.fixture
def jit(db):
    """Turn on just-in-time accounts with the Moderator role."""

    def turn_on(domains: list[str] = ()) -> None:
        services.save_sign_in(
            None,
            password_sign_in="EVERYONE",
            jit_enabled=True,
            jit_role=Role.objects.get(name="Moderator"),
            jit_domains=list(domains),
        )

    return turn_on


@pytest.fixture
def make_user(db):
    counter = iter(range(10_000))

    def make(role: str = "Admin", **fields):
        from factories import user

        return user(fields.pop("email", f"user{next(counter)}@example.com"), role, **fields)

    return make


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("Admin"))
    return client
