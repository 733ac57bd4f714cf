"""Routing rules and appeal routing rules in the console (/routing): create and edit with the
simple condition editor or as JSON, delete, and reorder (Move up / Move down posts and the
dragged order), all through the configuration writer: the export shows what the console saved."""

from __future__ import annotations

import json

import pytest
from django.utils.html import escape

from coop.catalog.models import ConfigChange
from coop.config.engine import export_state
from coop.config.services import save_object
from coop.rules.models import RoutingRule
from web.configcli import export_then_apply_is_a_no_op, run_config
from web.test_access_matrix import ROLES, has

pytestmark = pytest.mark.django_db

JSON_ACCEPT = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def catalog(db):
    objects = [
        (
            "itemTypes",
            {
                "id": "post",
                "name": "Post",
                "kind": "CONTENT",
                "fields": [
                    {"name": "text", "type": "STRING"},
                    {"name": "score", "type": "NUMBER"},
                    {"name": "flagged", "type": "BOOLEAN"},
                ],
            },
        ),
        ("itemTypes", {"id": "user", "name": "User", "kind": "USER"}),
        ("policies", {"id": "spam", "name": "Spam"}),
        ("policies", {"id": "harassment", "name": "Harassment"}),
        ("queues", {"id": "spam", "name": "Spam"}),
        ("queues", {"id": "urgent", "name": "Urgent"}),
        ("queues", {"id": "second-appeals", "name": "Second appeals", "appeals": True}),
    ]
    for kind, data in objects:
        assert save_object(kind, data).ok, data


def rule(rule_id: str, queue: str = "spam", policy: str = "spam") -> dict:
    return {
        "id": rule_id,
        "name": rule_id.title(),
        "itemTypes": ["post"],
        "queue": queue,
        "condition": {
            "all": [{"input": "RELEVANT_POLICY", "comparator": "EQUALS", "threshold": policy}]
        },
    }


def order(kind: str = "ROUTING") -> list[str]:
    return list(
        RoutingRule.objects.filter(kind=kind).order_by("position").values_list("id", flat=True)
    )


FORM = {
    "name": "Urgent reported spam",
    "description": "",
    "item_types": ["post"],
    "queue": "urgent",
    "condition_mode": "simple",
    "match": "all",
    "conditions-0-input": "RELEVANT_POLICY",
    "conditions-0-comparator": "EQUALS",
    "conditions-0-policy": "spam",
    "conditions-1-input": "SOURCE",
    "conditions-1-comparator": "NOT_EQUAL_TO",
    "conditions-1-source": "RULE",
    "conditions-2-input": "field:score",
    "conditions-2-comparator": "GREATER_THAN_OR_EQUALS",
    "conditions-2-value": "0.8",
    "conditions-3-input": "field:flagged",
    "conditions-3-comparator": "EQUALS",
    "conditions-3-value": "true",
    "conditions-4-input": "field:text",
    "conditions-4-comparator": "IS_NOT_PROVIDED",
    "conditions-4-value": "ignored",
    "conditions-5-input": "field:text",
    "conditions-5-comparator": "EQUALS",
    "conditions-5-value": "42",  # a STRING field: compared as the string "42"
}
EXPORTED = {
    "id": "urgent-reported-spam",
    "name": "Urgent reported spam",
    "itemTypes": ["post"],
    "queue": "urgent",
    "condition": {
        "all": [
            {"input": "RELEVANT_POLICY", "comparator": "EQUALS", "threshold": "spam"},
            {"input": "SOURCE", "comparator": "NOT_EQUAL_TO", "threshold": "RULE"},
            {"input": {"field": "score"}, "comparator": "GREATER_THAN_OR_EQUALS", "threshold": 0.8},
            {"input": {"field": "flagged"}, "comparator": "EQUALS", "threshold": True},
            {"input": {"field": "text"}, "comparator": "IS_NOT_PROVIDED"},
            {"input": {"field": "text"}, "comparator": "EQUALS", "threshold": "42"},
        ]
    },
}


def test_create_with_the_simple_editor_saves_exactly_what_export_shows(admin_client):
    assert save_object("routingRules", rule("first")).ok
    response = admin_client.post("/routing/rules/new", FORM)
    assert response.status_code == 302, response.content.decode()
    assert export_state()["routingRules"] == [rule("first"), EXPORTED]  # a new rule goes last
    assert export_then_apply_is_a_no_op()


def test_the_edit_form_shows_the_rule_and_an_unchanged_save_changes_nothing(admin_client):
    admin_client.post("/routing/rules/new", FORM)
    form = admin_client.get("/routing/rules/urgent-reported-spam/edit").context["form"]
    assert form.mode == "simple"
    assert [r.values["value"] for r in form.conditions] == ["", "", "0.8", "true", "", "42"]
    versions = ConfigChange.objects.count()
    response = admin_client.post("/routing/rules/urgent-reported-spam/edit", FORM)
    assert response.status_code == 302
    assert ConfigChange.objects.count() == versions


def test_an_edited_rule_keeps_its_place(admin_client):
    for rule_id in ("a", "b", "c"):
        assert save_object("routingRules", rule(rule_id)).ok
    form = {**FORM, "name": "B renamed"}
    assert admin_client.post("/routing/rules/b/edit", form).status_code == 302
    assert order() == ["a", "b", "c"]
    assert RoutingRule.objects.get(pk="b").name == "B renamed"


def test_no_conditions_matches_everything(admin_client):
    response = admin_client.post(
        "/routing/appeal-rules/new",
        {
            "name": "All appeals",
            "item_types": ["post", "user"],
            "queue": "second-appeals",
            "match": "all",
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert export_state()["appealRoutingRules"] == [
        {
            "id": "all-appeals",
            "name": "All appeals",
            "itemTypes": ["post", "user"],
            "queue": "second-appeals",
            "condition": {"all": []},
        }
    ]
    assert "Always (no condition)" in admin_client.get("/routing").content.decode()


def test_a_condition_beyond_the_simple_editor_is_edited_as_json(admin_client):
    nested = {
        "any": [
            {"input": {"field": "text"}, "signal": "TEXT_MATCHING_CONTAINS_TEXT", "values": ["x"]},
            {"all": [{"input": "SOURCE", "comparator": "EQUALS", "threshold": "REPORT"}]},
        ]
    }
    assert save_object("routingRules", {**rule("nested"), "condition": nested}).ok
    form = admin_client.get("/routing/rules/nested/edit").context["form"]
    assert form.mode == "json"
    assert json.loads(form["condition_json"].value()) == nested
    changed = {
        "any": [*nested["any"], {"input": "SOURCE", "comparator": "EQUALS", "threshold": "API"}]
    }
    data = {
        "name": "Nested",
        "item_types": ["post"],
        "queue": "spam",
        "match": "all",
        "condition_mode": "json",
        "condition_json": json.dumps(changed),
    }
    assert admin_client.post("/routing/rules/nested/edit", data).status_code == 302
    assert RoutingRule.objects.get(pk="nested").condition == changed
    bad = {
        **data,
        "condition_json": json.dumps(
            {"any": [{"input": "SOURCE", "comparator": "EQUALS", "threshold": "LATER"}]}
        ),
    }
    response = admin_client.post("/routing/rules/nested/edit", bad)
    assert response.status_code == 400
    message = "condition.any[0].threshold: must be one of REPORT, RULE, APPEAL, MANUAL, API, MOVE"
    assert response.context["form"].errors["condition_json"] == [message]
    response = admin_client.post("/routing/rules/nested/edit", {**data, "condition_json": "{"})
    assert "not valid JSON" in response.content.decode()


@pytest.mark.parametrize(
    ("depth", "message"),
    [
        (40, "condition.all[0]" + ".all[0]" * 32 + ": nested too deeply (at most 32 levels)"),
        (5_000, "nested too deeply"),
    ],
)
def test_a_deeply_nested_json_condition_is_refused_not_a_crash(admin_client, depth, message):
    text = '{"all": [' * depth + "]}" * depth
    data = {**FORM, "condition_mode": "json", "condition_json": text}
    response = admin_client.post("/routing/rules/new", data)
    assert response.status_code == 400
    assert response.context["form"].errors["condition_json"] == [message]
    response = admin_client.post("/routing/rules/new", {**data, "switch": "simple"})
    assert "cannot be shown in the simple editor" in response.content.decode()
    weird = {"all": [{"input": {"field": 5}, "comparator": "EQUALS", "threshold": 1}]}
    response = admin_client.post(
        "/routing/rules/new", {**data, "condition_json": json.dumps(weird), "switch": "simple"}
    )
    assert response.context["form"].mode == "json"
    assert not RoutingRule.objects.exists()
    if depth == 40:  # the file is refused alike
        data = {**EXPORTED, "condition": json.loads(text)}
        code, _, err = run_config("apply", text="routingRules:\n  - " + json.dumps(data) + "\n")
        assert (code, f"routingRules[0].{message}" in err) == (1, True)


def test_switching_between_the_simple_editor_and_json(admin_client):
    response = admin_client.post("/routing/rules/new", {**FORM, "switch": "json"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.mode == "json"
    assert json.loads(form["condition_json"].value()) == EXPORTED["condition"]
    assert not RoutingRule.objects.exists()
    back = {**FORM, "condition_mode": "json", "condition_json": json.dumps(EXPORTED["condition"])}
    form = admin_client.post("/routing/rules/new", {**back, "switch": "simple"}).context["form"]
    assert form.mode == "simple"
    assert len(form.conditions) == 6
    nested = {"all": [{"any": []}]}
    back["condition_json"] = json.dumps(nested)
    response = admin_client.post("/routing/rules/new", {**back, "switch": "simple"})
    assert response.context["form"].mode == "json"
    assert "cannot be shown in the simple editor" in response.content.decode()


@pytest.mark.parametrize(
    ("url", "change", "path", "message"),
    [
        (
            "/routing/appeal-rules/new",
            {},
            "appealRoutingRules[0].queue",
            "must be an appeals queue",
        ),
        (
            "/routing/rules/new",
            {"item_types": []},
            "routingRules[0].itemTypes",
            "needs at least one item type",
        ),
        (
            "/routing/rules/new",
            {"conditions-0-comparator": "GREATER_THAN"},
            "routingRules[0].condition.all[0].comparator",
            "use EQUALS or NOT_EQUAL_TO here",
        ),
        (
            "/routing/rules/new",
            {"conditions-2-value": "high"},
            "routingRules[0].condition.all[2].threshold",
            "must be a number",
        ),
        (
            "/routing/rules/new",
            {"conditions-0-policy": "ghost"},
            "routingRules[0].condition.all[0].threshold",
            "unknown policy 'ghost'",
        ),
    ],
)
def test_the_console_and_the_file_give_the_same_message(admin_client, url, change, path, message):
    response = admin_client.post(url, {**FORM, **change})
    assert response.status_code == 400
    assert escape(message) in response.content.decode()
    assert not RoutingRule.objects.exists()
    data = json.loads(json.dumps(EXPORTED))
    if "item_types" in change:
        data["itemTypes"] = []
    if "conditions-0-comparator" in change:
        data["condition"]["all"][0]["comparator"] = "GREATER_THAN"
    if "conditions-2-value" in change:
        data["condition"]["all"][2]["threshold"] = "high"
    if "conditions-0-policy" in change:
        data["condition"]["all"][0]["threshold"] = "ghost"
    key = path.split("[", 1)[0]
    code, _, err = run_config("apply", text=f"{key}:\n  - " + json.dumps(data) + "\n")
    assert code == 1
    assert f"{path}: {message}" in err


def test_condition_errors_are_shown_on_their_row(admin_client):
    response = admin_client.post("/routing/rules/new", {**FORM, "conditions-2-value": "high"})
    rows = response.context["form"].conditions.rows
    assert rows[2].errors == {"value": ["must be a number"]}
    response = admin_client.post("/routing/rules/new", {**FORM, "conditions-0-policy": ""})
    assert response.context["form"].conditions.rows[0].errors == {"policy": ["Choose a policy."]}


def test_add_and_remove_condition_rows_without_javascript(admin_client):
    response = admin_client.post("/routing/rules/new", {**FORM, "add": "conditions"})
    assert (response.status_code, len(response.context["form"].conditions)) == (200, 7)
    response = admin_client.post("/routing/rules/new", {**FORM, "remove": "conditions-0"})
    assert len(response.context["form"].conditions) == 5
    assert not RoutingRule.objects.exists()


def test_move_up_and_down_by_form_posts(admin_client):
    for rule_id in ("a", "b", "c"):
        save_object("routingRules", rule(rule_id))
    response = admin_client.post("/routing/rules/reorder", {"move": "c", "direction": "up"})
    assert (response.status_code, response["Location"]) == (302, "/routing#rules")
    assert order() == ["a", "c", "b"]
    admin_client.post("/routing/rules/reorder", {"move": "a", "direction": "down"})
    assert order() == ["c", "a", "b"]
    admin_client.post("/routing/rules/reorder", {"move": "c", "direction": "up"})  # already first
    assert order() == ["c", "a", "b"]
    assert [r["id"] for r in export_state()["routingRules"]] == ["c", "a", "b"]
    assert ConfigChange.objects.filter(kind="routingRules", source="console").exists()
    assert export_then_apply_is_a_no_op()


def test_reorder_with_the_dragged_order(admin_client):
    for rule_id in ("a", "b", "c"):
        save_object("routingRules", rule(rule_id))
    response = admin_client.post(
        "/routing/rules/reorder", {"order": ["b", "c", "a"]}, **JSON_ACCEPT
    )
    assert (response.status_code, response.json()) == (200, {"order": ["b", "c", "a"]})
    assert order() == ["b", "c", "a"]


@pytest.mark.parametrize("sent", [["a", "b"], ["a", "b", "c", "d"], ["a", "a", "b"], []])
def test_an_order_that_does_not_name_every_rule_once_is_refused(admin_client, sent):
    for rule_id in ("a", "b", "c"):
        save_object("routingRules", rule(rule_id))
    response = admin_client.post("/routing/rules/reorder", {"order": sent}, **JSON_ACCEPT)
    assert response.status_code == 409
    assert response.json()["order"] == ["a", "b", "c"]
    assert "reload it" in response.json()["error"]
    assert order() == ["a", "b", "c"]


def test_the_two_lists_are_ordered_separately(admin_client):
    save_object("routingRules", rule("a"))
    for rule_id in ("x", "y"):
        save_object("appealRoutingRules", rule(rule_id, queue="second-appeals"))
    admin_client.post("/routing/appeal-rules/reorder", {"move": "y", "direction": "up"})
    assert (order("ROUTING"), order("APPEAL")) == (["a"], ["y", "x"])
    response = admin_client.post("/routing/rules/reorder", {"move": "x", "direction": "up"})
    assert response.status_code == 302
    assert order("APPEAL") == ["y", "x"]


def test_the_routing_page_lists_both_lists_in_order(admin_client):
    for rule_id in ("a", "b"):
        save_object("routingRules", rule(rule_id, policy="harassment"))
    page = admin_client.get("/routing").content.decode()
    assert page.index('data-id="a"') < page.index('data-id="b"')
    assert "Relevant policy is Harassment" in page
    assert "No rules: every job goes to the default appeals queue" in page


def test_delete(admin_client):
    for rule_id in ("a", "b"):
        save_object("routingRules", rule(rule_id))
    assert admin_client.get("/routing/rules/a/delete").status_code == 200
    assert admin_client.post("/routing/appeal-rules/a/delete").status_code == 404
    assert admin_client.post("/routing/rules/a/delete").status_code == 302
    assert order() == ["b"]
    assert admin_client.get("/routing/nope/new").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_roles_without_manage_routing_rules_change_nothing(client, make_user, role):
    for rule_id in ("a", "b"):
        save_object("routingRules", rule(rule_id))
    client.force_login(make_user(role))
    before = export_state()["routingRules"]
    responses = [
        client.post("/routing/rules/new", FORM),
        client.post("/routing/rules/a/edit", {**FORM, "name": "Renamed"}),
        client.post("/routing/rules/reorder", {"move": "b", "direction": "up"}),
        client.post(
            "/routing/rules/reorder", {"order": ["a", "b", "urgent-reported-spam"]}, **JSON_ACCEPT
        ),
        client.post("/routing/rules/a/delete"),
    ]
    if has(role, "MANAGE_ROUTING_RULES"):
        assert [r.status_code for r in responses] == [302, 302, 302, 200, 302]
        return
    assert [r.status_code for r in responses] == [403] * 5
    assert export_state()["routingRules"] == before
