import pytest
from django.contrib.auth import SESSION_KEY
from django.test import override_settings

from coop.accounts.models import User
from coop.accounts.services import create_user, deactivate_user
from coop.web.views.auth import LOGIN_FAILED

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _no_login_delay(settings):
    """Attempts here follow each other at once: the progressive delay before the lock has its
    own tests (tests/accounts/test_login_throttling.py)."""
    settings.COOP_LOGIN_DELAY_SECONDS = 0


@pytest.fixture
def moderator(db) -> User:
    user, _ = create_user("mod@example.com", "Moderator", PASSWORD)
    return user


def sign_in(client, email, password, next_url=None):
    data = {"email": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data)


def test_login_page_renders_an_accessible_form(client, db):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_email">' in html
    assert '<label for="id_password">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'href="#content"' in html


def test_sign_in_with_email_and_password(client, moderator):
    response = sign_in(client, "MOD@example.com ", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(moderator.pk)


def test_password_is_hashed_with_argon2(moderator):
    assert moderator.password.startswith("argon2")


def test_same_message_for_unknown_email_wrong_password_and_inactive(client, moderator):
    inactive, _ = create_user("gone@example.com", "Moderator", PASSWORD)
    deactivate_user(inactive)
    for email, password in [
        ("nobody@example.com", PASSWORD),
        ("mod@example.com", "wrong password!"),
        ("gone@example.com", PASSWORD),
    ]:
        response = sign_in(client, email, password)
        assert response.status_code == 400
        assert LOGIN_FAILED in response.content.decode()
        assert SESSION_KEY not in client.session


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/settings/api-keys", "/settings/api-keys"),
        ("https://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_redirect_stays_on_this_site(client, moderator, next_url, expected):
    response = sign_in(client, "mod@example.com", PASSWORD, next_url)
    assert response["Location"] == expected


def test_protected_page_round_trip_through_login(client, moderator):
    response = client.get("/settings/")
    assert response["Location"] == "/login?next=/settings/"
    page = client.get(response["Location"])
    assert 'value="/settings/"' in page.content.decode()


def test_logout_requires_post(client, moderator):
    client.force_login(moderator)
    assert client.get("/logout").status_code == 405
    assert SESSION_KEY in client.session
    response = client.post("/logout")
    assert response["Location"] == "/login"
    assert SESSION_KEY not in client.session


def test_logout_is_csrf_protected(moderator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    assert client.post("/logout").status_code == 403
    assert SESSION_KEY in client.session


def test_deactivation_ends_sessions_at_once(client, moderator):
    client.force_login(moderator)
    assert client.get("/").status_code == 200
    # Even without the service (an admin flipping the flag), the next request is refused.
    User.objects.filter(pk=moderator.pk).update(is_active=False)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login")


def test_deactivate_user_deletes_their_sessions(client, moderator):
    from coop.accounts.models import UserSession

    client.force_login(moderator)
    assert UserSession.objects.filter(user=moderator).count() == 1
    deactivate_user(moderator)
    assert UserSession.objects.count() == 0


def test_repeated_failures_lock_the_account(client, moderator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "mod@example.com", "wrong password!")
    # Locked now: even the right password is refused, for a while.
    response = sign_in(client, "mod@example.com", PASSWORD)
    assert response.status_code == 429
    assert SESSION_KEY not in client.session
    # From another address too: the account is locked (accounts.md), not an account+address pair.
    other = sign_in_from(client, "10.1.2.3")
    assert other.status_code == 429
    assert SESSION_KEY not in client.session


def sign_in_from(client, address):
    return client.post(
        "/login", {"email": "mod@example.com", "password": PASSWORD}, REMOTE_ADDR=address
    )


def test_lockout_does_not_reveal_whether_the_account_exists(client, db, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "nobody@example.com", "wrong password!")
    assert sign_in(client, "nobody@example.com", "wrong password!").status_code == 429


@override_settings(AXES_LOCKOUT_TEMPLATE="web/locked_out.html")
def test_lockout_page(client, moderator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        response = sign_in(client, "mod@example.com", "wrong password!")
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_success_resets_the_failure_count(client, moderator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "mod@example.com", "wrong password!")
    assert sign_in(client, "mod@example.com", PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "mod@example.com", "wrong password!")
    assert sign_in(client, "mod@example.com", PASSWORD).status_code == 302
