"""Actions in the console (/actions): create and edit (callback URL, plain and secret headers,
body, item types, strikes, parameters), delete, and "Send test delivery" against a local
receiver that checks the signature with only the public key, as a platform would."""

from __future__ import annotations

import json

import pytest
from django.utils.html import escape

from coop.accounts.services import active_signing_key
from coop.catalog.models import Action, ConfigChange
from coop.config.engine import export_state
from coop.config.services import save_object
from coop.enforcement.models import Delivery
from enforcement.receiver import Receiver, Reply
from web.configcli import export_then_apply_is_a_no_op, run_config
from web.test_access_matrix import ROLES, has

pytestmark = pytest.mark.django_db

SECRET_VAR = "SECRET_CONSOLE_TEST_TOKEN"
SECRET_VALUE = "s3cret-value-never-shown"
FORM = {
    "name": "Remove post",
    "description": "",
    "callback_url": "https://platform.example/coop/remove",
    "headers-0-name": "X-Team",
    "headers-0-source": "value",
    "headers-0-value": "trust-and-safety",
    "headers-1-name": "Authorization",
    "headers-1-source": "secret",
    "headers-1-value": SECRET_VAR,
    "body": '{"origin": "coop", "notify": true}',
    "item_types": ["post"],
    "applies_strikes": "on",
    "parameters-0-name": "days",
    "parameters-0-type": "NUMBER",
    "parameters-0-default": "7",
    "parameters-1-name": "notify",
    "parameters-1-type": "BOOLEAN",
    "parameters-1-required": "on",
    "parameters-2-name": "label",
    "parameters-2-type": "STRING",
    "parameters-2-default": "spam",
    "parameters-3-name": "ratio",
    "parameters-3-type": "NUMBER",
    "parameters-3-default": "0.5",
}
EXPORTED = {
    "id": "remove-post",
    "name": "Remove post",
    "callbackUrl": "https://platform.example/coop/remove",
    "headers": {"X-Team": "trust-and-safety", "Authorization": {"secret": SECRET_VAR}},
    "body": {"origin": "coop", "notify": True},
    "itemTypes": ["post"],
    "appliesStrikes": True,
    "parameters": [
        {"name": "days", "type": "NUMBER", "default": 7},
        {"name": "notify", "type": "BOOLEAN", "required": True},
        {"name": "label", "type": "STRING", "default": "spam"},
        {"name": "ratio", "type": "NUMBER", "default": 0.5},
    ],
}


@pytest.fixture(autouse=True)
def catalog(db, monkeypatch):
    monkeypatch.setenv(SECRET_VAR, SECRET_VALUE)
    assert save_object("itemTypes", {"id": "post", "name": "Post", "kind": "CONTENT"}).ok
    assert save_object("itemTypes", {"id": "user", "name": "User", "kind": "USER"}).ok


def exported_actions() -> list[dict]:
    return export_state().get("actions", [])


def test_create_saves_exactly_what_export_shows(admin_client):
    response = admin_client.post("/actions/new", FORM)
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == "/actions/remove-post/edit"
    assert exported_actions() == [EXPORTED]
    assert "!secret SECRET_CONSOLE_TEST_TOKEN" in run_config("export")[1]
    assert export_then_apply_is_a_no_op()


def test_secret_values_are_never_shown_only_their_variable(admin_client):
    admin_client.post("/actions/new", FORM)
    page = admin_client.get("/actions/remove-post/edit").content.decode()
    assert f'value="{SECRET_VAR}"' in page
    assert SECRET_VALUE not in page
    assert SECRET_VALUE not in json.dumps(list(ConfigChange.objects.values_list("data", flat=True)))


def test_editing_keeps_what_is_unchanged_and_saves_a_new_version(admin_client):
    admin_client.post("/actions/new", FORM)
    form = admin_client.get("/actions/remove-post/edit").context["form"]
    assert sorted(tuple(r.values.values()) for r in form.headers) == [
        ("Authorization", "secret", SECRET_VAR),
        ("X-Team", "value", "trust-and-safety"),
    ]
    assert [r.values["default"] for r in form.parameters] == ["7", "", "spam", "0.5"]
    versions = ConfigChange.objects.count()
    assert admin_client.post("/actions/remove-post/edit", FORM).status_code == 302
    assert ConfigChange.objects.count() == versions  # unchanged: no new version
    changed = {**FORM, "headers-1-source": "value", "headers-1-value": "Bearer abc"}
    del changed["item_types"]
    assert admin_client.post("/actions/remove-post/edit", changed).status_code == 302
    [action] = exported_actions()
    assert action["headers"]["Authorization"] == "Bearer abc"
    assert "itemTypes" not in action  # none checked: every item type
    assert Action.objects.get(pk="remove-post").version == 2


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"callback_url": "ftp://x"}, "callbackUrl", "must be an http(s) URL"),
        (
            {"headers-1-value": "DATABASE_URL"},
            "headers.Authorization",
            "!secret: secrets must be environment variables named SECRET_…",
        ),
        (
            {"headers-0-name": "Coop-Event"},
            "headers.Coop-Event",
            "header name is set by Coop and cannot be configured",
        ),
        ({"parameters-0-default": "seven"}, "parameters[0].default", "must be a number"),
        ({"parameters-0-default": "nan"}, "parameters[0].default", "must be a number"),
        ({"body": "[1, 2]"}, "body", "must be a mapping with string keys"),
    ],
)
def test_the_console_and_the_file_give_the_same_message(admin_client, change, path, message):
    response = admin_client.post("/actions/new", {**FORM, **change})
    assert response.status_code == 400
    assert escape(message) in response.content.decode()
    assert not Action.objects.filter(builtin=False).exists()
    data = json.loads(json.dumps(EXPORTED))
    if "callback_url" in change:
        data["callbackUrl"] = change["callback_url"]
    if "headers-1-value" in change:
        data["headers"]["Authorization"] = {"secret": "DATABASE_URL"}
    if "headers-0-name" in change:
        data["headers"] = {"Coop-Event": "x"}
    if "parameters-0-default" in change:
        data["parameters"][0]["default"] = (
            "seven" if change["parameters-0-default"] == "seven" else float("nan")
        )
    if "body" in change:
        data["body"] = [1, 2]
    text = "actions:\n  - " + json.dumps(data).replace("NaN", ".nan") + "\n"  # YAML's NaN
    code, _, err = run_config("apply", text=text)
    assert code == 1
    assert f"actions[0].{path}: {message}" in err


def test_invalid_json_body_and_repeated_headers_are_refused(admin_client):
    response = admin_client.post("/actions/new", {**FORM, "body": "{oops"})
    assert response.status_code == 400
    assert "not valid JSON" in response.content.decode()
    response = admin_client.post("/actions/new", {**FORM, "body": "[" * 5000 + "]" * 5000})
    assert response.context["form"].errors["body"] == ["nested too deeply"]
    response = admin_client.post("/actions/new", {**FORM, "headers-1-name": "X-Team"})
    assert response.status_code == 400
    assert "This header is given twice." in response.content.decode()
    assert not Action.objects.filter(builtin=False).exists()


def test_add_and_remove_rows_without_javascript(admin_client):
    response = admin_client.post("/actions/new", {**FORM, "add": "headers"})
    assert (response.status_code, len(response.context["form"].headers)) == (200, 3)
    response = admin_client.post("/actions/new", {**FORM, "remove": "parameters-1"})
    assert [r.values["name"] for r in response.context["form"].parameters] == [
        "days",
        "label",
        "ratio",
    ]
    assert not Action.objects.filter(builtin=False).exists()


def test_builtin_actions_are_listed_but_not_editable(admin_client):
    page = admin_client.get("/actions").content.decode()
    assert "coop.manual-review" in page
    assert admin_client.get("/actions/coop.manual-review/edit").status_code == 404
    assert admin_client.post("/actions/coop.manual-review/delete").status_code == 404


def test_deleting_an_action_a_rule_uses_is_refused(admin_client):
    admin_client.post("/actions/new", FORM)
    rule = {
        "id": "r",
        "name": "R",
        "itemTypes": ["post"],
        "actions": [{"id": "remove-post", "parameters": {"notify": True}}],
        "condition": {"all": []},
    }
    assert save_object("rules", rule).ok
    response = admin_client.post("/actions/remove-post/delete")
    assert response.status_code == 400
    assert escape("rules[id=r].actions[0]: unknown action 'remove-post'") in (
        response.content.decode()
    )
    assert Action.objects.filter(pk="remove-post").exists()


# --- Send test delivery ------------------------------------------------------------------------


@pytest.fixture
def receiver(db):
    with Receiver(active_signing_key().public_pem) as server:
        yield server
    server.check_calls()


def saved_action(receiver, **changes) -> Action:
    data = {**EXPORTED, "callbackUrl": f"{receiver.url}/coop/remove", **changes}
    result = save_object("actions", data)
    assert result.ok, result.errors
    return Action.objects.get(pk="remove-post")


def test_send_test_delivery_sends_a_signed_test_request_and_shows_both_sides(
    admin_client, receiver
):
    saved_action(receiver)
    answer = b'{"received": true}' + b"x" * 3000
    receiver.script.append(Reply(status=202, headers={"X-Receiver": "fake"}, body=answer))
    response = admin_client.post("/actions/remove-post/test-delivery")
    assert response.status_code == 200
    [request] = receiver.requests
    assert request.path == "/coop/remove"
    assert request.signature_valid
    assert request.headers["coop-event"] == "test"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == SECRET_VALUE  # resolved when sending
    assert request.headers["x-team"] == "trust-and-safety"
    body = json.loads(request.body)
    assert body == {
        "action": {"id": "remove-post"},
        "actorEmail": response.wsgi_request.user.email,
        "custom": {"origin": "coop", "notify": True, "days": 7, "label": "spam", "ratio": 0.5},
        "item": {"id": "coop-test-delivery", "typeId": "post", "typeName": "Post"},
        "policies": [],
        "rules": [],
    }
    assert request.body == json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    probe = response.context["probe"]
    shown = dict(probe.request_headers)
    assert shown["Coop-Signature"] == request.headers["coop-signature"]
    assert shown["Coop-Delivery-Id"] == request.headers["coop-delivery-id"]
    assert shown["Authorization"] == f"•••••• (secret from {SECRET_VAR})"
    assert probe.body == request.body.decode()
    assert (probe.status_code, dict(probe.response_headers)["x-receiver"]) == (202, "fake")
    assert probe.response_excerpt == answer[:1024].decode()
    page = response.content.decode()
    assert SECRET_VALUE not in page
    assert "HTTP 202" in page
    assert not Delivery.objects.exists()  # a test is neither stored nor retried


def test_htmx_gets_only_the_result_panel(admin_client, receiver):
    saved_action(receiver)
    response = admin_client.post("/actions/remove-post/test-delivery", HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<section class="probe"')
    assert "Coop-Event: test" in page


def test_a_private_address_is_refused_when_private_addresses_are_not_allowed(
    admin_client, receiver, settings
):
    settings.COOP_FETCH_ALLOW_PRIVATE = False
    receiver.expect_no_calls()
    saved_action(receiver)
    response = admin_client.post("/actions/remove-post/test-delivery")
    probe = response.context["probe"]
    assert probe.status_code is None
    assert "a private, loopback, link-local or reserved address" in probe.error
    assert "which Coop does not call" in response.content.decode()


def test_a_missing_secret_is_reported_and_nothing_is_sent(admin_client, receiver, monkeypatch):
    saved_action(receiver)
    monkeypatch.delenv(SECRET_VAR)
    receiver.expect_no_calls()
    probe = admin_client.post("/actions/remove-post/test-delivery").context["probe"]
    assert not probe.sent
    assert probe.error == f"header 'Authorization': environment variable {SECRET_VAR} is not set"


def test_a_slow_receiver_times_out(admin_client, receiver, settings):
    settings.COOP_WEBHOOK_TIMEOUT = 0.5
    saved_action(receiver)
    receiver.script.append(Reply(delay=2))
    probe = admin_client.post("/actions/remove-post/test-delivery").context["probe"]
    assert probe.status_code is None
    assert probe.error.startswith("timeout")
    assert "timeout" in probe.error


def test_test_delivery_is_a_post(admin_client):
    admin_client.post("/actions/new", FORM)
    assert admin_client.get("/actions/remove-post/test-delivery").status_code == 405


@pytest.mark.parametrize("role", ROLES)
def test_roles_without_manage_org_change_nothing_and_send_nothing(
    client, make_user, receiver, role
):
    saved_action(receiver)
    client.force_login(make_user(role))
    before = exported_actions()
    form = {**FORM, "callback_url": f"{receiver.url}/coop/remove"}
    responses = [
        client.post("/actions/new", {**form, "name": "Other"}),
        client.post("/actions/remove-post/test-delivery"),
        client.post("/actions/remove-post/edit", {**form, "name": "Renamed"}),
        client.post("/actions/remove-post/delete"),
    ]
    if has(role, "MANAGE_ORG"):
        assert [r.status_code for r in responses] == [302, 200, 302, 302]
        return
    receiver.expect_no_calls()
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert exported_actions() == before


# --- Write-only secret values typed in the console -----------------------------------------

TYPED_SECRET = "typed-in-the-console-3f9a"


def encrypted_form(**changes) -> dict:
    form = {**FORM, "headers-1-source": "encrypted", "headers-1-value": TYPED_SECRET}
    return {**form, **changes}


def test_a_typed_secret_value_is_stored_encrypted_and_never_shown_or_exported(admin_client):
    response = admin_client.post("/actions/new", encrypted_form())
    assert response.status_code == 302, response.content.decode()
    stored = Action.objects.get(pk="remove-post").headers["Authorization"]
    assert set(stored) == {"encrypted"}
    assert TYPED_SECRET not in stored["encrypted"]
    page = admin_client.get("/actions/remove-post/edit").content.decode()
    assert TYPED_SECRET not in page
    assert "Set (encrypted): leave empty to keep" in page
    exported = run_config("export")[1]
    assert TYPED_SECRET not in exported
    assert "encrypted:" in exported
    history = json.dumps(list(ConfigChange.objects.values_list("data", flat=True)))
    assert TYPED_SECRET not in history
    assert export_then_apply_is_a_no_op()


def test_leaving_a_stored_secret_empty_keeps_it_and_typing_replaces_it(admin_client):
    admin_client.post("/actions/new", encrypted_form())
    token = Action.objects.get(pk="remove-post").headers["Authorization"]
    kept = admin_client.post(
        "/actions/remove-post/edit", encrypted_form(**{"headers-1-value": "", "name": "Renamed"})
    )
    assert kept.status_code == 302, kept.content.decode()
    action = Action.objects.get(pk="remove-post")
    assert (action.name, action.headers["Authorization"]) == ("Renamed", token)
    admin_client.post("/actions/remove-post/edit", encrypted_form(**{"headers-1-value": "new"}))
    replaced = Action.objects.get(pk="remove-post").headers["Authorization"]
    assert replaced != token
    assert set(replaced) == {"encrypted"}


def test_a_new_secret_value_must_be_typed(admin_client):
    response = admin_client.post("/actions/new", encrypted_form(**{"headers-1-value": ""}))
    assert response.status_code == 400
    assert "Type the secret value." in response.content.decode()
    assert not Action.objects.filter(builtin=False).exists()


def test_a_typed_secret_is_sent_in_clear_to_the_receiver_only(admin_client, receiver):
    admin_client.post("/actions/new", encrypted_form(callback_url=f"{receiver.url}/coop/remove"))
    receiver.script.append(Reply(status=200))
    response = admin_client.post("/actions/remove-post/test-delivery")
    [request] = receiver.requests
    assert request.headers["authorization"] == TYPED_SECRET
    shown = dict(response.context["probe"].request_headers)
    assert shown["Authorization"] == "•••••• (secret, stored encrypted)"
    assert TYPED_SECRET not in response.content.decode()
