"""Roles (accounts.md): the permission matrix of every role × every permission, editable;
custom roles created, renamed and deleted (refused while in use, naming the users); predefined
roles neither renamed nor deleted; the last active administrator kept; nobody grants what they
do not hold; changes apply on the next request."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from coop.accounts import roles, users
from coop.accounts.invites import create_invite
from coop.accounts.models import Role, User
from coop.accounts.permissions import PREDEFINED_ROLES, Permission
from coop.accounts.services import AccountError
from web.test_access_matrix import ROLE_TABLE

pytestmark = pytest.mark.django_db


def role(name: str) -> Role:
    return Role.objects.get(name=name)


def matrix_post(client, changes: dict[str, set[str]], **extra):
    """Submit the whole matrix as the page does, with `changes` (role name -> permissions)."""
    data = {"roles": [], **extra}
    for r in Role.objects.all():
        data["roles"].append(r.pk)
        data[f"role-{r.pk}"] = sorted(changes.get(r.name, r.permissions))
    return client.post("/settings/roles", data)


def permissions_of(name: str) -> set[str]:
    return set(role(name).permissions)


def test_the_matrix_shows_every_role_and_every_permission_as_in_the_spec(admin_client):
    Role.objects.create(name="Auditor", permissions=["VIEW_MRT_DATA"])
    page = admin_client.get("/settings/roles").content.decode()
    for name, granted in ROLE_TABLE.items():
        for permission in Permission:
            box = f'aria-label="{name}: {permission}"'
            assert box in page, box
            start = page.index(box)
            tag = page[page.rindex("<input", 0, start) : page.index(">", start)]
            assert ("checked" in tag) == (granted == "ALL" or permission in granted), box
    assert 'aria-label="Auditor: VIEW_MRT_DATA" checked' in page


def test_saving_the_matrix_applies_on_the_users_next_request(admin_client, make_user):
    moderator = Client()
    moderator.force_login(make_user("Moderator"))
    assert moderator.get("/settings/api-keys").status_code == 403
    added = permissions_of("Moderator") | {"MANAGE_ORG"}
    response = matrix_post(admin_client, {"Moderator": added})
    assert response.status_code == 302
    assert permissions_of("Moderator") == added
    assert moderator.get("/settings/api-keys").status_code == 200
    matrix_post(admin_client, {"Moderator": set()})
    assert permissions_of("Moderator") == set()
    assert moderator.get("/queues").status_code == 403


def test_unknown_permissions_or_roles_change_nothing(admin_client):
    before = sorted(Role.objects.values_list("name", "permissions"))
    bad = matrix_post(admin_client, {"Moderator": {"VIEW_MRT", "BECOME_GOD"}, "Analyst": set()})
    assert bad.status_code == 400
    assert "Unknown permission: BECOME_GOD" in bad.content.decode()
    for ids in (["999999"], ["not-a-number"], ["9" * 30], ["9" * 5000]):
        response = admin_client.post("/settings/roles", {"roles": ids})
        assert response.status_code == 400
    assert sorted(Role.objects.values_list("name", "permissions")) == before


def test_restore_defaults_puts_the_spec_table_back(admin_client):
    matrix_post(admin_client, {"Analyst": {"VIEW_MRT"}})
    assert (
        "Restore the default permissions of Analyst"
        in admin_client.get("/settings/roles").content.decode()
    )
    admin_client.post(f"/settings/roles/{role('Analyst').pk}/restore")
    assert permissions_of("Analyst") == set(PREDEFINED_ROLES["Analyst"])


def test_custom_roles_are_created_renamed_and_deleted(admin_client):
    response = admin_client.post(
        "/settings/roles/new", {"name": "  Trust   Lead ", "start_from": role("Moderator").pk}
    )
    assert response.status_code == 302
    lead = role("Trust Lead")
    assert not lead.predefined
    assert set(lead.permissions) == set(PREDEFINED_ROLES["Moderator"])
    assert admin_client.post("/settings/roles/new", {"name": "Empty"}).status_code == 302
    assert role("Empty").permissions == []
    renamed = admin_client.post(f"/settings/roles/{lead.pk}/rename", {"name": "Safety Lead"})
    assert renamed.status_code == 302
    assert Role.objects.get(pk=lead.pk).name == "Safety Lead"
    assert admin_client.post(f"/settings/roles/{lead.pk}/delete").status_code == 302
    assert not Role.objects.filter(pk=lead.pk).exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x" * 65, "at most 64"),
        ("moderator", "already exists"),
        ("ADMIN", "already exists"),
        ("Bad\x07name", "control characters"),
    ],
)
def test_bad_role_names_name_the_field(admin_client, name, message):
    count = Role.objects.count()
    response = admin_client.post("/settings/roles/new", {"name": name})
    assert response.status_code == 400
    assert message in " ".join(response.context["new_form"].errors["name"])
    assert Role.objects.count() == count


def test_rename_refusals_change_nothing(admin_client):
    custom = Role.objects.create(name="Auditor")
    for target, name, message in [
        (custom, "Analyst", "already exists"),
        (custom, "", "required"),
        (role("Moderator"), "Mods", "predefined role: it cannot be renamed"),
    ]:
        response = admin_client.post(f"/settings/roles/{target.pk}/rename", {"name": name})
        assert response.status_code == 400
        assert message in response.content.decode()
    assert set(Role.objects.values_list("name", flat=True)) == {*PREDEFINED_ROLES, "Auditor"}


def test_a_role_in_use_is_not_deleted_and_the_refusal_names_its_users(admin_client, admin):
    auditor = Role.objects.create(name="Auditor")
    for n in range(12):
        User.objects.create_user(f"a{n:02}@example.com", role=auditor)
    page = admin_client.post(f"/settings/roles/{auditor.pk}/delete", follow=True)
    text = page.content.decode()
    assert "“Auditor” is the role of a00@example.com, a01@example.com" in text
    assert "a09@example.com and 2 more" in text
    assert Role.objects.filter(pk=auditor.pk).exists()
    User.objects.filter(role=auditor).update(role=role("Analyst"))
    create_invite(admin, "soon@example.com", auditor)
    text = admin_client.post(f"/settings/roles/{auditor.pk}/delete", follow=True).content.decode()
    assert "pending invites for soon@example.com" in text
    assert Role.objects.filter(pk=auditor.pk).exists()
    predefined = admin_client.post(f"/settings/roles/{role('Analyst').pk}/delete", follow=True)
    assert "predefined role: it cannot be deleted" in predefined.content.decode()
    assert Role.objects.filter(name="Analyst").exists()


# --- The last administrator ----------------------------------------------------------------


def test_the_last_admin_cannot_lose_manage_users_or_manage_roles(admin_client, admin):
    for dropped in ("MANAGE_USERS", "MANAGE_ROLES"):
        keep = set(Permission) - {dropped}
        response = matrix_post(admin_client, {"Admin": keep})
        assert response.status_code == 400
        assert "leave no active user with both MANAGE_USERS and MANAGE_ROLES" in (
            response.content.decode()
        )
        assert permissions_of("Admin") == set(Permission)
    with pytest.raises(AccountError, match="last active administrator"):
        users.change_role(admin, admin, role("Moderator"))
    assert User.objects.get(pk=admin.pk).role.name == "Admin"
    # With a second administrator (in a custom role), the Admin role may change.
    Role.objects.create(name="Owners", permissions=["MANAGE_USERS", "MANAGE_ROLES"])
    User.objects.create_user("owner@example.com", role=role("Owners"))
    assert (
        matrix_post(admin_client, {"Admin": set(Permission) - {"MANAGE_ROLES"}}).status_code == 302
    )


def test_a_stale_admin_cannot_deactivate_the_last_real_one(admin, make_user):
    """The acting admin was demoted by someone else meanwhile: their request still carries the
    old role, but the check reads the database."""
    other = make_user("Admin", email="other@example.com")
    User.objects.filter(pk=admin.pk).update(role=role("Moderator"))
    with pytest.raises(AccountError, match="last active administrator"):
        users.deactivate(admin, other)
    assert User.objects.get(pk=other.pk).is_active


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one(make_user):
    first = make_user("Admin", email="first@example.com")
    second = make_user("Admin", email="second@example.com")
    barrier = threading.Barrier(2)
    outcomes = []

    def demote(actor, target):
        try:
            barrier.wait()
            users.change_role(actor, target, Role.objects.get(name="Analyst"))
            outcomes.append("done")
        except AccountError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=demote, args=(first, second)),
        threading.Thread(target=demote, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["done", "refused"]
    assert roles.active_admins().count() == 1


# --- Nobody grants what they do not hold ---------------------------------------------------


def test_a_role_editor_changes_only_permissions_they_hold(client, make_user):
    Role.objects.create(name="Role Editor", permissions=["MANAGE_ROLES", "VIEW_MRT"])
    client.force_login(make_user("Role Editor"))
    page = client.get("/settings/roles").content.decode()
    assert 'aria-label="Admin: MANAGE_ORG" checked disabled' in page
    assert 'aria-label="Moderator: VIEW_MRT" checked>' in page
    before = sorted(Role.objects.values_list("name", "permissions"))
    escalate = matrix_post(client, {"Role Editor": {"MANAGE_ROLES", "VIEW_MRT", "MANAGE_ORG"}})
    assert escalate.status_code == 400
    assert "needs permissions you do not have: MANAGE_ORG" in escalate.content.decode()
    strip = matrix_post(client, {"Admin": set(Permission) - {"MANAGE_ORG"}})
    assert strip.status_code == 400
    assert sorted(Role.objects.values_list("name", "permissions")) == before
    # What they hold, they may change; the disabled boxes' hidden copies keep the rest.
    allowed = matrix_post(client, {"Analyst": permissions_of("Analyst") | {"VIEW_MRT"}})
    assert allowed.status_code == 302
    assert "VIEW_MRT" in permissions_of("Analyst")
    assert permissions_of("Admin") == set(Permission)
    created = client.post("/settings/roles/new", {"name": "Copy", "start_from": role("Admin").pk})
    assert created.status_code == 400
    assert not Role.objects.filter(name="Copy").exists()


def test_a_user_manager_manages_only_users_whose_permissions_they_hold(client, make_user, admin):
    Role.objects.create(name="People Team", permissions=["MANAGE_USERS", "VIEW_MRT"])
    manager = make_user("People Team")
    external = make_user("External Moderator", email="ext@example.com")
    moderator = make_user("Moderator", email="mod@example.com")
    client.force_login(manager)
    before = sorted(User.objects.values_list("pk", "role_id", "is_active"))
    for url, data in [
        (f"/settings/users/{admin.pk}/deactivate", {}),
        (f"/settings/users/{admin.pk}/password-reset", {}),
        (f"/settings/users/{moderator.pk}/role", {"role": role("External Moderator").pk}),
        (f"/settings/users/{external.pk}/role", {"role": role("Admin").pk}),
    ]:
        page = client.post(url, data, follow=True).content.decode()
        assert "you do not have" in page, url
    assert sorted(User.objects.values_list("pk", "role_id", "is_active")) == before
    client.post(f"/settings/users/{external.pk}/deactivate")
    assert not User.objects.get(pk=external.pk).is_active
    client.post(f"/settings/users/{external.pk}/reactivate")
    assert User.objects.get(pk=external.pk).is_active


def test_admins_cannot_deactivate_themselves(admin_client, admin):
    page = admin_client.post(f"/settings/users/{admin.pk}/deactivate", follow=True)
    assert "cannot deactivate your own account" in page.content.decode()
    assert User.objects.get(pk=admin.pk).is_active


def test_change_role_and_deactivate_from_the_users_page(admin_client, make_user):
    target = make_user("Moderator", email="mod@example.com")
    elsewhere = Client()
    elsewhere.force_login(target)
    admin_client.post(f"/settings/users/{target.pk}/role", {"role": role("Analyst").pk})
    assert User.objects.get(pk=target.pk).role.name == "Analyst"
    bad = admin_client.post(f"/settings/users/{target.pk}/role", {"role": "x"}, follow=True)
    assert "Role of mod@example.com: choose one of the roles" in bad.content.decode()
    admin_client.post(f"/settings/users/{target.pk}/deactivate")
    assert elsewhere.get("/account").status_code == 302  # signed out at once
    page = admin_client.get("/settings/users").content.decode()
    assert "Deactivated" in page
    assert "Reactivate mod@example.com" in page


def test_createuser_accepts_a_custom_role(capsys):
    from django.core.management import call_command

    Role.objects.create(name="Night Shift", permissions=["VIEW_MRT"])
    call_command("createuser", "--email", "night@example.com", "--role", "Night Shift")
    assert User.objects.get(email="night@example.com").role.name == "Night Shift"
