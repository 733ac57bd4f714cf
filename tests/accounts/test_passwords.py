"""Password reset and change (accounts.md): reset by an emailed link (1 hour, single use, token
hashed), the same answer and the same work for every email, throttled requests, and changing or
resetting a password ends the user's other sessions. Emails go through a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coop.accounts import passwords
from coop.accounts.models import PasswordResetRequest, PasswordResetToken, User, UserSession
from coop.accounts.services import create_user, deactivate_user
from coop.bench.harness import free_port

pytestmark = pytest.mark.django_db

PASSWORD = "the old long password"
NEW_PASSWORD = "a brand new long password"
TOKEN_IN_LINK = re.compile(r"/password-reset/([A-Za-z0-9_-]+)")


@pytest.fixture
def ana():
    return create_user("ana@example.com", "Moderator", PASSWORD)[0]


def forgot(client, email, address="10.0.0.1"):
    return client.post("/password-reset", {"email": email}, REMOTE_ADDR=address)


def queued_emails() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args->>'email' FROM procrastinate_jobs"
            " WHERE task_name = 'coop.send_password_reset' ORDER BY id"
        )
        return [row[0] for row in cursor.fetchall()]


def run_queued() -> None:
    """What a worker does with the queued reset emails."""
    for email in queued_emails():
        passwords.deliver_reset(email)


def reset(client, token, password=NEW_PASSWORD, repeat=None):
    return client.post(
        f"/password-reset/{token}",
        {"new_password": password, "new_password_repeat": repeat or password},
    )


def test_forgot_password_answers_the_same_for_every_email(client, ana, make_user):
    gone = create_user("gone@example.com", "Moderator", PASSWORD)[0]
    deactivate_user(gone)
    answers = {}
    for email in ("ana@example.com", "nobody@example.com", "gone@example.com"):
        response = forgot(client, email.upper())
        assert response.status_code == 200
        answers[email] = response.content.decode().replace(email, "EMAIL")
    assert len(set(answers.values())) == 1
    assert "If <strong>EMAIL</strong> belongs to an active account" in answers["ana@example.com"]
    # The same work for each: one request recorded and one email task queued, looked up later.
    assert queued_emails() == ["ana@example.com", "nobody@example.com", "gone@example.com"]
    assert PasswordResetRequest.objects.count() == 3
    assert not PasswordResetToken.objects.exists()


def test_the_request_runs_the_same_queries_for_known_and_unknown_emails(client, ana):
    literals = re.compile(r"'[^']*'|\b\d+\b|\"s\d+_x\d+\"")  # values, savepoint names
    shapes = []
    for email in ("ana@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries:
            forgot(client, email)
        shapes.append([literals.sub("?", q["sql"]) for q in queries])
    assert shapes[0] == shapes[1]
    assert not any("accounts_user" in sql for sql in shapes[0])  # no account is looked up


def test_reset_end_to_end_through_smtp_ends_every_session(client, ana, smtp, settings):
    settings.BASE_URL = "https://coop.example.org"
    other_browser, another = Client(), Client()
    other_browser.force_login(ana)
    another.force_login(ana)
    forgot(client, "ana@example.com")
    forgot(client, "nobody@example.com")
    run_queued()
    [received] = smtp.wait(1)
    assert received.rcpt_tos == ["ana@example.com"]
    reset_token = PasswordResetToken.objects.get()
    assert f"expires at {reset_token.expires_at:%H:%M} UTC" in received.body
    assert "(in 60 minutes)" in received.body
    assert reset_token.expires_at - reset_token.created_at == timedelta(hours=1)
    assert received.link.startswith("https://coop.example.org/password-reset/")
    token = TOKEN_IN_LINK.search(received.link).group(1)
    assert token not in str(list(PasswordResetToken.objects.values_list()))

    form = client.get(f"/password-reset/{token}")
    assert form.status_code == 200
    assert "ana@example.com" in form.content.decode()
    # Link tokens reach no other site: the Referer goes to this origin only (and a stricter
    # policy would send `Origin: null` with the form, which CSRF refuses).
    assert form["Referrer-Policy"] == "same-origin"
    response = reset(client, token)
    assert (response.status_code, response["Location"]) == (302, "/login")
    ana.refresh_from_db()
    assert ana.check_password(NEW_PASSWORD)
    assert not UserSession.objects.filter(user=ana).exists()
    assert other_browser.get("/account").status_code == 302
    assert another.get("/account").status_code == 302
    # Single use.
    assert reset(client, token, password="yet another long password").status_code == 404
    assert User.objects.get(pk=ana.pk).check_password(NEW_PASSWORD)


def invalid(client, token) -> str:
    response = client.get(f"/password-reset/{token}")
    assert response.status_code == 404
    return response.content.decode()


def test_expired_used_superseded_and_made_up_links_get_one_answer(client, ana):
    expired, expired_token = passwords.issue_reset_token(ana)
    PasswordResetToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    _, used = passwords.issue_reset_token(ana)
    _, superseded = passwords.issue_reset_token(ana)
    assert reset(client, used).status_code == 302  # every other link of ana's ends with it
    gone_user = create_user("gone@example.com", "Moderator", PASSWORD)[0]
    _, of_deactivated = passwords.issue_reset_token(gone_user)
    deactivate_user(gone_user)
    tokens = [expired_token, used, superseded, of_deactivated, "y" * 43, "y" * 5000]
    client = Client()  # a visitor who has not just reset (no "password changed" message)
    pages = {invalid(client, token) for token in tokens}
    assert len(pages) == 1
    [page] = pages
    assert "This reset link does not work" in page
    assert "@example.com" not in page
    before = sorted(User.objects.values_list("pk", "password"))
    for token in tokens:
        assert reset(client, token, password="something else, long").status_code == 404
    assert sorted(User.objects.values_list("pk", "password")) == before


@pytest.mark.parametrize(
    ("password", "repeat", "field", "message"),
    [
        ("short", "short", "new_password", "too short"),
        ("password123", "password123", "new_password", "too common"),
        (NEW_PASSWORD, "something different", "new_password_repeat", "differ"),
        ("", "", "new_password", "required"),
    ],
)
def test_bad_new_passwords_name_the_field_and_change_nothing(
    client, ana, password, repeat, field, message
):
    _, token = passwords.issue_reset_token(ana)
    response = client.post(
        f"/password-reset/{token}", {"new_password": password, "new_password_repeat": repeat}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert User.objects.get(pk=ana.pk).check_password(PASSWORD)
    assert passwords.reset_user(token) == ana  # the link still works


def test_requests_are_throttled_per_email_and_per_address(client, ana):
    for _ in range(passwords.REQUESTS_PER_EMAIL):
        assert forgot(client, "ana@example.com").status_code == 200
    refused = forgot(client, "ana@example.com", address="10.9.9.9")
    assert refused.status_code == 429
    assert "Too many reset requests" in refused.content.decode()
    # An unknown email is throttled the same way: the refusal tells nothing either.
    for _ in range(passwords.REQUESTS_PER_EMAIL):
        forgot(client, "nobody@example.com", address="10.9.9.9")
    assert forgot(client, "nobody@example.com", address="10.9.9.8").status_code == 429
    # Per address, across emails.
    for n in range(passwords.REQUESTS_PER_ADDRESS):
        assert forgot(client, f"someone{n}@example.com", address="10.7.7.7").status_code == 200
    assert forgot(client, "fresh@example.com", address="10.7.7.7").status_code == 429
    assert len(queued_emails()) == 2 * passwords.REQUESTS_PER_EMAIL + passwords.REQUESTS_PER_ADDRESS
    # The window passes: old requests are forgotten (and deleted).
    PasswordResetRequest.objects.update(created_at=timezone.now() - timedelta(hours=2))
    assert forgot(client, "ana@example.com").status_code == 200
    assert PasswordResetRequest.objects.count() == 1


def test_a_bad_email_names_the_field(client):
    response = client.post("/password-reset", {"email": "not an email"})
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert queued_emails() == []


def test_a_failing_smtp_server_leaves_no_link_and_the_task_raises_to_retry(ana, settings):
    settings.COOP_EMAIL_URL = f"smtp://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionRefusedError):
        passwords.deliver_reset("ana@example.com")
    assert not PasswordResetToken.objects.exists()


def change(client, current=PASSWORD, new=NEW_PASSWORD, repeat=None):
    return client.post(
        "/account/password",
        {"current_password": current, "new_password": new, "new_password_repeat": repeat or new},
    )


def test_change_password_keeps_this_session_and_ends_the_others(client, ana):
    assert (
        client.post("/login", {"email": "ana@example.com", "password": PASSWORD}).status_code == 302
    )
    elsewhere = Client()
    elsewhere.force_login(ana)
    _, token = passwords.issue_reset_token(ana)
    assert client.get("/account/password").status_code == 200
    response = change(client)
    assert (response.status_code, response["Location"]) == (302, "/account")
    assert client.get("/account").status_code == 200  # still signed in here
    assert elsewhere.get("/account").status_code == 302  # signed out there
    assert UserSession.objects.filter(user=ana).count() == 1
    assert passwords.reset_user(token) is None  # outstanding reset links end too
    assert User.objects.get(pk=ana.pk).check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"current": "not my password"}, "current_password", "not your current password"),
        ({"new": "short", "repeat": "short"}, "new_password", "too short"),
        ({"repeat": "different but long"}, "new_password_repeat", "differ"),
    ],
)
def test_bad_change_input_names_the_field_and_changes_nothing(client, ana, fields, field, message):
    client.force_login(ana)
    elsewhere = Client()
    elsewhere.force_login(ana)
    response = change(client, **fields)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert User.objects.get(pk=ana.pk).check_password(PASSWORD)
    assert elsewhere.get("/account").status_code == 200


def test_admin_sends_a_reset_link_by_email(admin_client, ana, smtp):
    response = admin_client.post(f"/settings/users/{ana.pk}/password-reset")
    assert response.status_code == 302
    [received] = smtp.wait(1)
    assert received.rcpt_tos == ["ana@example.com"]
    token = TOKEN_IN_LINK.search(received.link).group(1)
    assert passwords.reset_user(token) == ana
    assert token not in admin_client.get("/settings/users").content.decode()


def test_without_email_the_admin_sees_the_reset_link_once(admin_client, ana, no_email):
    response = admin_client.post(f"/settings/users/{ana.pk}/password-reset")
    assert response.status_code == 200
    token = TOKEN_IN_LINK.search(response.content.decode()).group(1)
    assert passwords.reset_user(token) == ana
    assert "no-store" in response["Cache-Control"]


def test_wrong_current_passwords_count_towards_the_account_lock(client, ana, settings):
    client.force_login(ana)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert change(client, current="a wrong guess, long").status_code == 400
    locked = change(client, current="a wrong guess, long")
    assert locked.status_code == 429
    assert change(client).status_code == 429  # locked: even the right one waits
    assert User.objects.get(pk=ana.pk).check_password(PASSWORD)
