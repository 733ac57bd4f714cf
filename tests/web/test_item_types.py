"""Item types in the console (/item-types): create, edit (fields, containers, roles, hidden
fields), add and remove rows without JavaScript, delete. Saved through the configuration writer:
`coop config export` then shows exactly what the form saved, and the console refuses with the
file's own messages."""

from __future__ import annotations

import json

import pytest
from django.utils.html import escape

from coop.catalog.models import ConfigChange, ItemType
from coop.config.engine import export_state
from coop.config.services import save_object
from web.configcli import export_then_apply_is_a_no_op, run_config
from web.test_access_matrix import ROLES, has

pytestmark = pytest.mark.django_db

POST_FORM = {
    "name": "Forum post",
    "kind": "CONTENT",
    "description": "A post in a forum.\r\nSecond line.",
    "fields-0-name": "text",
    "fields-0-type": "STRING",
    "fields-0-required": "on",
    "fields-1-name": "images",
    "fields-1-type": "ARRAY",
    "fields-1-element": "IMAGE",
    "fields-2-name": "author",
    "fields-2-type": "RELATED_ITEM",
    "fields-2-required": "on",
    "fields-3-name": "internalScore",
    "fields-3-type": "NUMBER",
    "fields-3-hidden": "on",
    "fields-3-element": "STRING",  # ignored: only ARRAY and MAP fields have an element type
    "fields-7-name": "labels",  # rows are numbered by the browser; gaps do not matter
    "fields-7-type": "MAP",
    "fields-7-element": "STRING",
    "fields-9-name": "",  # a blank row is left out
    "fields-9-type": "STRING",
    "role_creatorId": "author",
}
EXPORTED = {
    "id": "forum-post",
    "name": "Forum post",
    "description": "A post in a forum.\nSecond line.",
    "kind": "CONTENT",
    "fields": [
        {"name": "text", "type": "STRING", "required": True},
        {"name": "images", "type": "ARRAY", "items": "IMAGE"},
        {"name": "author", "type": "RELATED_ITEM", "required": True},
        {"name": "internalScore", "type": "NUMBER"},
        {"name": "labels", "type": "MAP", "values": "STRING"},
    ],
    "roles": {"creatorId": "author"},
    "hiddenFields": ["internalScore"],
}


def exported_item_types() -> list[dict]:
    return export_state().get("itemTypes", [])


def test_create_saves_exactly_what_export_shows(admin_client):
    response = admin_client.post("/item-types/new", POST_FORM)
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == "/item-types"
    assert exported_item_types() == [EXPORTED]
    change = ConfigChange.objects.get(kind="itemTypes", object_id="forum-post")
    assert (change.operation, change.source, change.changed_by.role.name) == (
        "CREATE",
        "console",
        "Admin",
    )
    assert export_then_apply_is_a_no_op()


def test_edit_form_shows_the_stored_type_and_saving_it_unchanged_changes_nothing(admin_client):
    assert admin_client.post("/item-types/new", POST_FORM).status_code == 302
    page = admin_client.get("/item-types/forum-post/edit").content.decode()
    assert 'value="internalScore"' in page
    assert 'name="fields-4-name"' in page
    assert 'name="fields-5-name"' not in page
    form = admin_client.get("/item-types/forum-post/edit").context["form"]
    unchanged = {**POST_FORM, "description": EXPORTED["description"]}
    del unchanged["fields-3-element"]
    response = admin_client.post("/item-types/forum-post/edit", unchanged)
    assert response.status_code == 302
    assert ConfigChange.objects.filter(object_id="forum-post").count() == 1  # no new version
    assert [r.values["name"] for r in form.rows] == [f["name"] for f in EXPORTED["fields"]]


def test_edit_changes_kind_roles_and_fields(admin_client):
    admin_client.post("/item-types/new", POST_FORM)
    response = admin_client.post(
        "/item-types/forum-post/edit",
        {
            "name": "Member",
            "kind": "USER",
            "fields-0-name": "username",
            "fields-0-type": "STRING",
            "fields-1-name": "avatar",
            "fields-1-type": "IMAGE",
            "role_displayName": "username",
            "role_profileIcon": "avatar",
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert exported_item_types() == [
        {
            "id": "forum-post",
            "name": "Member",
            "kind": "USER",
            "fields": [{"name": "username", "type": "STRING"}, {"name": "avatar", "type": "IMAGE"}],
            "roles": {"displayName": "username", "profileIcon": "avatar"},
        }
    ]
    assert ItemType.objects.get(pk="forum-post").version == 2


def test_roles_offer_only_fields_of_the_fitting_type(admin_client):
    admin_client.post("/item-types/new", POST_FORM)
    form = admin_client.get("/item-types/forum-post/edit").context["form"]
    offered = {r.role: [c for c, _ in r.bound.field.widget.choices] for r in form.role_inputs()}
    assert offered["creatorId"] == ["", "author"]
    assert offered["displayName"] == ["", "text"]
    assert offered["createdAt"] == [""]
    assert [r.kinds for r in form.role_inputs() if r.role == "profileIcon"] == [("USER",)]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            {"role_creatorId": "text"},
            "itemTypes[0].roles.creatorId",
            "field 'text' is STRING; creatorId needs RELATED_ITEM",
        ),
        (
            {"fields-1-element": ""},
            "itemTypes[0].fields[1].items",
            "ARRAY needs items: <scalar>",
        ),
        (
            {"fields-2-name": "text"},
            "itemTypes[0].fields[2].name",
            "duplicate field 'text'",
        ),
        (
            {"role_profileIcon": "images"},
            "itemTypes[0].roles.profileIcon",
            "role profileIcon is not allowed for CONTENT item types",
        ),
    ],
)
def test_the_console_and_the_file_give_the_same_message(admin_client, change, path, message):
    response = admin_client.post("/item-types/new", {**POST_FORM, **change})
    assert response.status_code == 400
    assert escape(message) in response.content.decode()
    assert not ItemType.objects.exists()  # nothing half-saved
    # The same object in a file: `coop config apply` says the same, with the file's path.
    data = {**EXPORTED}
    if "role_creatorId" in change:
        data["roles"] = {"creatorId": "text"}
    if "fields-1-element" in change:
        data["fields"] = [EXPORTED["fields"][0], {"name": "images", "type": "ARRAY"}]
    if "fields-2-name" in change:
        data["fields"] = [*EXPORTED["fields"][:2], {"name": "text", "type": "RELATED_ITEM"}]
    if "role_profileIcon" in change:
        data["roles"] = {"profileIcon": "images"}
    data.pop("hiddenFields")
    code, _, err = run_config("apply", text="itemTypes:\n  - " + json.dumps(data) + "\n")
    assert code == 1
    assert f"{path}: {message}" in err


def test_errors_are_shown_next_to_their_row(admin_client):
    response = admin_client.post("/item-types/new", {**POST_FORM, "fields-1-element": ""})
    form = response.context["form"]
    assert form.rows.rows[1].errors == {"element": ["ARRAY needs items: <scalar>"]}
    assert "row--invalid" in response.content.decode()


def test_add_and_remove_rows_without_javascript(admin_client):
    response = admin_client.post("/item-types/new", {**POST_FORM, "add": "fields"})
    assert response.status_code == 200
    assert len(response.context["form"].rows) == 6
    assert not ItemType.objects.exists()  # adding a row saves nothing
    response = admin_client.post("/item-types/new", {**POST_FORM, "remove": "fields-1"})
    assert response.status_code == 200
    assert [r.values["name"] for r in response.context["form"].rows] == [
        "text",
        "author",
        "internalScore",
        "labels",
    ]
    assert not ItemType.objects.exists()


def test_the_id_is_derived_from_the_name_and_kept_unique(admin_client):
    admin_client.post("/item-types/new", POST_FORM)
    admin_client.post("/item-types/new", POST_FORM)
    assert sorted(ItemType.objects.values_list("id", flat=True)) == ["forum-post", "forum-post-2"]
    response = admin_client.post("/item-types/new", {**POST_FORM, "id": "forum-post"})
    assert response.status_code == 400
    response = admin_client.post("/item-types/new", {**POST_FORM, "id": "coop.post"})
    assert escape("ids starting with 'coop.' are reserved") in response.content.decode()


def test_deleting_a_type_in_use_is_refused_naming_what_uses_it(admin_client):
    admin_client.post("/item-types/new", POST_FORM)
    action = {
        "id": "hide",
        "name": "Hide",
        "callbackUrl": "https://platform.example/hide",
        "itemTypes": ["forum-post"],
    }
    assert save_object("actions", action).ok
    page = admin_client.get("/item-types/forum-post/delete").content.decode()
    assert "action “Hide”" in page
    response = admin_client.post("/item-types/forum-post/delete")
    assert response.status_code == 400
    message = "actions[id=hide].itemTypes[0]: unknown item type 'forum-post'"
    assert escape(message) in response.content.decode()
    assert ItemType.objects.filter(pk="forum-post").exists()
    from coop.config.services import delete_object

    assert delete_object("actions", "hide").ok
    response = admin_client.post("/item-types/forum-post/delete")
    assert response.status_code == 302
    assert not ItemType.objects.exists()
    assert ConfigChange.objects.filter(object_id="forum-post", operation="DELETE").count() == 1


def test_list_links_every_type(admin_client):
    admin_client.post("/item-types/new", POST_FORM)
    page = admin_client.get("/item-types").content.decode()
    assert 'href="/item-types/forum-post/edit"' in page
    assert "creatorId → author" in page


def test_unknown_type_is_not_found(admin_client):
    assert admin_client.get("/item-types/nope/edit").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_roles_without_manage_org_change_nothing(client, make_user, role):
    assert save_object("itemTypes", EXPORTED).ok
    client.force_login(make_user(role))
    before = list(ConfigChange.objects.values_list("id", flat=True))
    responses = [
        client.post("/item-types/new", {**POST_FORM, "name": "Other"}),
        client.post("/item-types/forum-post/edit", {**POST_FORM, "name": "Renamed"}),
        client.post("/item-types/forum-post/delete"),
    ]
    if has(role, "MANAGE_ORG"):
        assert [r.status_code for r in responses] == [302, 302, 302]
        return
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert list(ConfigChange.objects.values_list("id", flat=True)) == before
    assert exported_item_types() == [EXPORTED]
