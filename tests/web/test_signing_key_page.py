"""Settings → Signing key (accounts.md, api.md): the PEM, rotation with a confirmation, the
previous key listed as "previous" for 24 hours."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from coop.accounts.models import SigningKey
from coop.accounts.services import active_signing_key

pytestmark = pytest.mark.django_db

PAGE = "/settings/signing-key"
ROTATE = "/settings/signing-key/rotate"


def test_the_page_shows_the_current_key(admin_client):
    html = admin_client.get(PAGE).content.decode()
    key = active_signing_key()
    assert key.public_pem.strip() in html
    assert "-----BEGIN PUBLIC KEY-----" in html
    assert "Current key" in html
    assert "Previous key" not in html
    assert 'href="/settings/signing-key/public-key.pem"' in html
    assert re.search(r'class="fingerprint">([0-9a-f]{4}:){15}[0-9a-f]{4}<', html)


def test_the_public_key_downloads_as_a_pem_file(admin_client):
    response = admin_client.get(f"{PAGE}/public-key.pem")
    assert response.status_code == 200
    assert response.content.decode() == active_signing_key().public_pem
    assert response["Content-Disposition"] == ('attachment; filename="coop-webhook-public-key.pem"')


def test_rotation_asks_for_confirmation_first(admin_client):
    key = active_signing_key()
    html = admin_client.get(ROTATE).content.decode()
    assert "Rotate the webhook signing key?" in html
    assert '<button type="submit" class="button button--danger">Rotate signing key</button>' in html
    assert SigningKey.objects.get() == key  # nothing happened yet


def test_rotation_lists_the_previous_key_for_24_hours(admin_client):
    old = active_signing_key()
    response = admin_client.post(ROTATE)
    assert response.status_code == 302
    assert response["Location"] == PAGE
    new = active_signing_key()
    assert new.pk != old.pk
    html = admin_client.get(PAGE).content.decode()
    assert "signing key was rotated" in html
    assert html.index(new.public_pem.strip()) < html.index(old.public_pem.strip())
    old.refresh_from_db()
    listed_until = (old.retired_at + timedelta(hours=24)).strftime("%Y-%m-%d %H:%M")
    assert f"listed until {listed_until} UTC" in html
    # The download is the key that signs now.
    assert admin_client.get(f"{PAGE}/public-key.pem").content.decode() == new.public_pem

    SigningKey.objects.filter(pk=old.pk).update(retired_at=timezone.now() - timedelta(hours=25))
    html = admin_client.get(PAGE).content.decode()
    assert "Previous key" not in html
    assert old.public_pem.strip() not in html


def test_rotation_needs_the_csrf_token(make_user):
    key = active_signing_key()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("Admin"))
    assert browser.post(ROTATE).status_code == 403
    assert active_signing_key() == key


@pytest.mark.parametrize("role", ["Moderator Manager", "Analyst", "External Moderator"])
def test_only_manage_org_sees_or_rotates_the_key(client, make_user, role):
    key = active_signing_key()
    client.force_login(make_user(role))
    for response in (
        client.get(PAGE),
        client.get(ROTATE),
        client.post(ROTATE),
        client.get(f"{PAGE}/public-key.pem"),
    ):
        assert response.status_code == 403
    assert list(SigningKey.objects.all()) == [key]


def test_the_page_has_no_inline_script_or_style(admin_client):
    html = admin_client.get(PAGE).content.decode()
    assert "<script>" not in html
    assert " style=" not in html
    assert " onclick=" not in html
