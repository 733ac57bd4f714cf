"""Invites (accounts.md): by email with a role, token stored hashed, expiry stated truly in the
email, link shown once when no email service is configured, accept sets name and password, and
an expired, used, revoked or made-up link gets one clear answer that changes nothing. Emails go
through a real local SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from coop.accounts.invites import create_invite, open_invite
from coop.accounts.models import Invite, Role, User
from coop.accounts.services import AccountError
from coop.bench.harness import free_port

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase"
TOKEN_IN_LINK = re.compile(r"/invite/([A-Za-z0-9_-]+)")


def role(name: str) -> Role:
    return Role.objects.get(name=name)


def invite_by_form(client, email="new@example.com", role_name="Moderator"):
    return client.post("/settings/users/invite", {"email": email, "role": role(role_name).pk})


def token_of(link: str) -> str:
    return TOKEN_IN_LINK.search(link).group(1)


def accept(client, token, name="Nia New", password=PASSWORD, repeat=None):
    return client.post(
        f"/invite/{token}",
        {"name": name, "new_password": password, "new_password_repeat": repeat or password},
    )


def test_invite_is_emailed_with_the_true_expiry_and_only_its_hash_is_stored(
    admin_client, smtp, settings
):
    settings.COOP_INVITE_DAYS = 3
    settings.BASE_URL = "https://coop.example.org"
    response = invite_by_form(admin_client)
    assert response.status_code == 302
    [received] = smtp.wait(1)
    assert received.rcpt_tos == ["new@example.com"]
    assert received.message["Subject"] == "You are invited to Coop on Coop"
    invite = Invite.objects.get()
    body = received.body
    assert "Ada Admin invited you" in body
    assert "as Moderator" in body
    assert f"expires on {invite.expires_at:%Y-%m-%d at %H:%M} UTC (in 3 days)" in body
    assert invite.expires_at - invite.created_at == timedelta(days=3)
    assert received.link.startswith("https://coop.example.org/invite/")
    token = token_of(received.link)
    assert token not in str(list(Invite.objects.values_list()))  # only the hash is stored
    assert open_invite(token) == invite
    page = admin_client.get("/settings/users").content.decode()
    assert "new@example.com" in page
    assert "Invited" in page
    assert token not in page


def test_without_an_email_service_the_link_is_shown_once(admin_client, no_email, caplog):
    response = invite_by_form(admin_client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    token = token_of(page)
    assert "No email service is configured" in page
    assert open_invite(token) is not None
    assert token in caplog.text  # the email went to the log instead
    assert token not in admin_client.get("/settings/users").content.decode()


def test_a_failing_email_service_shows_the_link_and_says_why(admin_client, settings):
    settings.COOP_EMAIL_URL = f"smtp://127.0.0.1:{free_port()}"
    page = invite_by_form(admin_client).content.decode()
    assert "could not be sent" in page
    assert open_invite(token_of(page)) is not None


def test_accepting_sets_name_and_password_and_the_user_can_sign_in(client, admin, no_email):
    _, token = create_invite(admin, "New@Example.com", role("Child Safety Moderator"))
    form = client.get(f"/invite/{token}")
    assert form.status_code == 200
    assert "new@example.com" in form.content.decode()
    # Link tokens reach no other site: the Referer goes to this origin only (and a stricter
    # policy would send `Origin: null` with the form, which CSRF refuses).
    assert form["Referrer-Policy"] == "same-origin"
    response = accept(client, token)
    assert (response.status_code, response["Location"]) == (302, "/login")
    user = User.objects.get(email="new@example.com")
    assert (user.name, user.role.name, user.is_active) == (
        "Nia New",
        "Child Safety Moderator",
        True,
    )
    assert Invite.objects.get().accepted_at is not None
    signed_in = client.post("/login", {"email": "new@example.com", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required"),
        ({"name": "x" * 201}, "name", "at most 200 characters"),
        ({"password": "short", "repeat": "short"}, "new_password", "too short"),
        ({"password": "password123", "repeat": "password123"}, "new_password", "too common"),
        ({"repeat": "something else entirely"}, "new_password_repeat", "differ"),
    ],
)
def test_bad_accept_input_names_the_field_and_creates_nothing(
    client, admin, no_email, fields, field, message
):
    _, token = create_invite(admin, "new@example.com", role("Moderator"))
    response = accept(client, token, **fields)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert not User.objects.filter(email="new@example.com").exists()
    assert open_invite(token) is not None  # still usable


def invalid_page(client, token) -> str:
    response = client.get(f"/invite/{token}")
    assert response.status_code == 404
    return response.content.decode()


def test_used_expired_revoked_replaced_and_made_up_links_get_one_answer(client, admin, no_email):
    _, used = create_invite(admin, "used@example.com", role("Moderator"))
    assert accept(client, used).status_code == 302
    client.logout()
    expired_invite, expired = create_invite(admin, "expired@example.com", role("Moderator"))
    Invite.objects.filter(pk=expired_invite.pk).update(expires_at=timezone.now())
    revoked_invite, revoked = create_invite(admin, "revoked@example.com", role("Moderator"))
    admin_client = client.__class__()
    admin_client.force_login(admin)
    admin_client.post(f"/settings/users/invites/{revoked_invite.pk}/revoke")
    _, replaced = create_invite(admin, "again@example.com", role("Moderator"))
    create_invite(admin, "again@example.com", role("Analyst"))  # replaces it
    pages = {
        kind: invalid_page(client, token)
        for kind, token in {
            "used": used,
            "expired": expired,
            "revoked": revoked,
            "replaced": replaced,
            "made up": "x" * 43,
            "overlong": "x" * 5000,
        }.items()
    }
    assert len(set(pages.values())) == 1, "the answers differ"
    page = pages["used"]
    assert "This invite link does not work" in page
    assert "@example.com" not in page
    # Accepting through a dead link changes nothing either.
    before = sorted(User.objects.values_list("email", "password"))
    for token in (used, expired, revoked, replaced):
        assert accept(client, token, name="Someone Else").status_code == 404
    assert sorted(User.objects.values_list("email", "password")) == before


def test_inviting_an_existing_user_or_a_bad_email_names_the_email_field(admin_client, admin):
    for email, message in [("admin@example.com", "already has an account"), ("nope", "valid")]:
        response = invite_by_form(admin_client, email=email)
        assert response.status_code == 400
        assert message in " ".join(response.context["form"].errors["email"])
    assert not Invite.objects.exists()


def test_an_unknown_role_names_the_role_field(admin_client):
    response = admin_client.post("/settings/users/invite", {"email": "a@example.com", "role": 999})
    assert response.status_code == 400
    assert "role" in response.context["form"].errors
    assert not Invite.objects.exists()


def test_resend_replaces_the_link_and_revoke_ends_it(admin_client, admin, smtp):
    invite_by_form(admin_client)
    first = token_of(smtp.wait(1)[0].link)
    old = Invite.objects.get()
    assert admin_client.post(f"/settings/users/invites/{old.pk}/resend").status_code == 302
    second = token_of(smtp.wait(2)[1].link)
    assert open_invite(first) is None
    assert open_invite(second) is not None
    current = Invite.objects.get(accepted_at=None, revoked_at=None)
    assert admin_client.post(f"/settings/users/invites/{current.pk}/revoke").status_code == 302
    assert open_invite(second) is None
    assert admin_client.post(f"/settings/users/invites/{current.pk}/revoke").status_code == 404


def test_a_user_manager_cannot_invite_with_permissions_they_lack(client, make_user, no_email):
    Role.objects.create(name="People Team", permissions=["MANAGE_USERS", "VIEW_MRT"])
    client.force_login(make_user("People Team"))
    refused = invite_by_form(client, role_name="Admin")
    assert refused.status_code == 400
    assert "needs permissions you do not have" in refused.content.decode()
    assert not Invite.objects.exists()
    assert invite_by_form(client, role_name="External Moderator").status_code == 200


def test_accept_after_the_email_got_an_account_meanwhile_is_refused(client, admin, no_email):
    _, token = create_invite(admin, "new@example.com", role("Moderator"))
    User.objects.create_user("new@example.com", role=role("Analyst"), password=PASSWORD)
    response = accept(client, token)
    assert response.status_code == 400
    assert "already has an account" in response.content.decode()
    assert User.objects.get(email="new@example.com").role.name == "Analyst"


def test_create_invite_checks_the_email(admin):
    with pytest.raises(AccountError) as error:
        create_invite(admin, "not an email", role("Moderator"))
    assert error.value.field == "email"
