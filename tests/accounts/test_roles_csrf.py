"""CSRF on every POST of the user, role, invite and password pages: without the token each is
refused (403) and changes nothing, even for an administrator and with a real target."""

from __future__ import annotations

import pytest
from django.test import Client

from coop.accounts import passwords
from coop.accounts.invites import create_invite
from coop.accounts.models import Invite, PasswordResetRequest, PasswordResetToken, Role, User
from coop.accounts.services import create_user

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough password"
NEW = {"new_password": "another long password", "new_password_repeat": "another long password"}


@pytest.fixture
def world(admin):
    target = create_user("target@example.com", "Moderator", PASSWORD)[0]
    custom = Role.objects.create(name="Auditor", permissions=["VIEW_MRT"])
    analyst = Role.objects.get(name="Analyst")
    forgetful = create_user("forgetful@example.com", "Analyst", PASSWORD)[0]
    _, reset_token = passwords.issue_reset_token(forgetful)
    admin.set_password(PASSWORD)
    admin.save()
    return {
        "target": target,
        "custom": custom,
        "analyst": analyst,
        "to_resend": create_invite(admin, "resend@example.com", analyst)[0],
        "to_revoke": create_invite(admin, "revoke@example.com", analyst)[0],
        "invite_token": create_invite(admin, "accept@example.com", analyst)[1],
        "reset_token": reset_token,
    }


def posts(w) -> list[tuple[str, dict]]:
    t, r, a = w["target"].pk, w["custom"].pk, w["analyst"].pk
    return [
        ("/settings/users/invite", {"email": "x@example.com", "role": a}),
        (f"/settings/users/invites/{w['to_resend'].pk}/resend", {}),
        (f"/settings/users/invites/{w['to_revoke'].pk}/revoke", {}),
        (f"/settings/users/{t}/role", {"role": a}),
        (f"/settings/users/{t}/deactivate", {}),
        (f"/settings/users/{t}/reactivate", {}),
        (f"/settings/users/{t}/password-reset", {}),
        ("/settings/roles", {"roles": [r, a], f"role-{r}": ["MANAGE_ORG"], f"role-{a}": []}),
        ("/settings/roles/new", {"name": "Fresh"}),
        (f"/settings/roles/{r}/rename", {"name": "Renamed"}),
        (f"/settings/roles/{r}/delete", {}),
        (f"/settings/roles/{a}/restore", {}),
        ("/account/password", {"current_password": PASSWORD, **NEW}),
        ("/password-reset", {"email": "target@example.com"}),
        # The link pages sign out whoever is signed in (the link's holder is someone else).
        (f"/password-reset/{w['reset_token']}", NEW),
        (f"/invite/{w['invite_token']}", {"name": "Someone", **NEW}),
    ]


def state():
    return (
        sorted(User.objects.values_list("id", "email", "is_active", "role_id", "password")),
        sorted(Role.objects.values_list("id", "name", "permissions")),
        sorted(Invite.objects.values_list("id", "revoked_at", "accepted_at")),
        PasswordResetToken.objects.count(),
        PasswordResetRequest.objects.count(),
    )


def test_every_post_needs_the_csrf_token(admin, world, no_email):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    before = state()
    for url, data in posts(world):
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert state() == before, url


def test_the_same_posts_with_the_token_do_their_work(admin, world, no_email):
    """The refusals above are CSRF's: with the token each handler runs (and changes things)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    token = str(client.get("/settings/users").context["csrf_token"])
    changed = 0
    for url, data in posts(world):
        before = state()
        response = client.post(url, {**data, "csrfmiddlewaretoken": token})
        assert response.status_code in {200, 302}, (url, response.status_code)
        changed += state() != before
    assert changed == len(posts(world))  # each one did something
