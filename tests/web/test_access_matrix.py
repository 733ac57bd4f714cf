"""The access-control matrix (accounts.md, quality.md): every console URL × every predefined role.

The URLs come from the URL configuration (`coop.accounts.access.console_urls`), so a view added
later is covered as soon as it is routed; a console view that is neither wrapped in
`require_permission` nor marked `public_view` fails `test_every_console_url_declares_its_access`.
"""

import uuid

import pytest
from django.urls import reverse
from django.urls.converters import IntConverter, UUIDConverter

from coop.accounts.access import console_urls
from coop.accounts.permissions import PREDEFINED_ROLES

PROTECTED = [u for u in console_urls() if u.access is not None]
ROLES = sorted(PREDEFINED_ROLES)


def sample_url(entry) -> str:
    """The URL with placeholder arguments: permission checks run before any object lookup."""
    samples = {}
    for name, converter in entry.converters.items():
        if isinstance(converter, UUIDConverter):
            samples[name] = uuid.uuid4()
        elif isinstance(converter, IntConverter):
            samples[name] = 1
        else:
            samples[name] = "sample"
    return reverse(entry.name, kwargs=samples)


def request(client, entry):
    url = sample_url(entry)
    if "GET" in entry.access.methods:
        return client.get(url)
    return client.post(url)


def test_registry_finds_the_console_views():
    names = {u.name for u in PROTECTED}
    assert {"overview", "settings", "settings-api-keys", "settings-api-key-revoke"} <= names


def test_every_console_url_declares_its_access():
    undeclared = [
        u.route for u in console_urls() if u.access is None and not hasattr(u.view, "coop_public")
    ]
    assert undeclared == [], "wrap these views in require_permission (or mark them public_view)"


def test_every_console_url_is_named():
    assert [u.route for u in console_urls() if not u.name] == []


@pytest.mark.django_db
@pytest.mark.parametrize("entry", PROTECTED, ids=lambda u: u.name)
def test_anonymous_users_are_sent_to_login(client, entry):
    response = request(client, entry)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entry", PROTECTED, ids=lambda u: u.name)
def test_each_role_gets_what_its_permissions_allow(client, make_user, entry, role):
    client.force_login(make_user(role))
    allowed = set(entry.access.permissions) <= PREDEFINED_ROLES[role]
    response = request(client, entry)
    if not allowed:
        assert response.status_code == 403
        assert b"access to this page" in response.content
    elif entry.name == "overview" and PREDEFINED_ROLES[role] & {"VIEW_MRT", "VIEW_MRT_DATA"} == {
        "VIEW_MRT"
    }:
        # review.md: `/` is the queues page for users without VIEW_MRT_DATA.
        assert (response.status_code, response["Location"]) == (302, "/queues")
    elif entry.converters:
        # Placeholder ids name nothing: the permission check passed and the lookup failed.
        assert response.status_code in {200, 302, 404}
    elif "GET" in entry.access.methods:
        assert response.status_code == 200
    else:
        assert response.status_code in {200, 302}
