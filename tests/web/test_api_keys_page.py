import re

from django.test import Client
from django.utils import timezone

from coop.accounts.models import ApiKey, SigningKey
from coop.accounts.services import authenticate_api_key, create_api_key

PAGE = "/settings/api-keys"


def test_create_shows_the_key_once(admin_client):
    response = admin_client.post(PAGE, {"name": "production backend"})
    assert response.status_code == 200
    html = response.content.decode()
    clear = re.search(r'id="new-key" value="([0-9a-f]{64})"', html).group(1)
    assert authenticate_api_key(clear).name == "production backend"
    assert "no-store" in response["Cache-Control"]
    # Not on the next visit.
    assert clear not in admin_client.get(PAGE).content.decode()
    assert ApiKey.objects.get().key_hash != clear


def test_blank_name_is_refused(admin_client):
    response = admin_client.post(PAGE, {"name": ""})
    assert response.status_code == 200
    assert ApiKey.objects.count() == 0
    assert "This field is required" in response.content.decode()


def test_list_shows_name_prefix_dates_and_status(admin_client):
    used, _ = create_api_key("used key")
    ApiKey.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    revoked, _ = create_api_key("old key")
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    html = admin_client.get(PAGE).content.decode()
    assert "used key" in html
    assert f"{used.prefix}…" in html
    assert "Never" not in html.split("used key")[1].split("</tr>")[0]
    assert "Revoked" in html.split("old key")[1].split("</tr>")[0]


def test_revoke(admin_client):
    api_key, clear = create_api_key("to revoke")
    response = admin_client.post(f"{PAGE}/{api_key.pk}/revoke")
    assert response.status_code == 302
    assert authenticate_api_key(clear) is None
    assert "is revoked" in admin_client.get(PAGE).content.decode()


def test_revoke_needs_post_and_csrf(make_user):
    api_key, clear = create_api_key("keep")
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("Admin"))
    assert client.get(f"{PAGE}/{api_key.pk}/revoke").status_code == 405
    assert client.post(f"{PAGE}/{api_key.pk}/revoke").status_code == 403
    assert authenticate_api_key(clear) is not None


def test_the_public_key_is_shown_with_a_link_to_the_signing_key_page(admin_client):
    """api.md: the public key is shown in Settings → API Keys and is downloadable; rotation
    and the snippets are on Settings → Signing key (tests/web/test_signing_key_page.py)."""
    html = admin_client.get(PAGE).content.decode()
    key = SigningKey.objects.get(retired_at__isnull=True)
    assert key.public_pem.strip() in html
    assert 'href="/settings/signing-key/public-key.pem"' in html
    assert 'href="/settings/signing-key"' in html
