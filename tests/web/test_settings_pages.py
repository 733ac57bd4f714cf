"""The settings pages (accounts.md "Settings pages", config.md `settings`): each edits one block
through the configuration file's validator and writer.

Every page: shows the stored values; saves what a browser sends (the form is parsed from the
page, as a browser would submit it); an unchanged save changes nothing; export then apply is
a no-op after a save; bad input is refused with the file's message on the field, and nothing
of the block (or any other) is saved; refused requests (role, CSRF) change nothing.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from coop.catalog.models import ConfigChange
from coop.catalog.org_settings import DEFAULTS, org_settings
from coop.config.services import save_object
from web.settings_support import (
    NO_OP,
    export_then_apply,
    field_errors,
    form_data,
    invalid_fields,
    run_config,
)

pytestmark = pytest.mark.django_db

ORGANIZATION = "/settings/organization"
REVIEW = "/settings/review"
APPEALS = "/settings/appeals"
STRIKES = "/settings/strikes"
PARTIAL = "/settings/partial-items"
PAGES = [ORGANIZATION, REVIEW, APPEALS, STRIKES, PARTIAL]


@pytest.fixture
def catalog(db):
    """A USER item type and a `ban` action with a required `days` parameter (strikes)."""
    user_type = {
        "id": "user",
        "name": "User",
        "kind": "USER",
        "fields": [{"name": "name", "type": "STRING"}],
    }
    assert save_object("itemTypes", user_type).ok
    ban = {
        "id": "ban",
        "name": "Ban",
        "callbackUrl": "https://platform.example/ban",
        "itemTypes": ["user"],
        "parameters": [{"name": "days", "type": "NUMBER", "required": True}],
    }
    assert save_object("actions", ban).ok


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def submit(client, url: str, **changes):
    """Post the page's form as shown, with `changes`."""
    return client.post(url, form_data(page(client, url), **changes))


def saved(response, url: str) -> None:
    assert response.status_code == 302, field_errors(response.content.decode())
    assert response["Location"] == url


def state():
    return org_settings(), ConfigChange.objects.count()


# --- Each page round-trips -------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_an_unchanged_save_changes_nothing(admin_client, catalog, url):
    before = state()
    response = submit(admin_client, url)
    saved(response, url)
    assert "Nothing changed." in page(admin_client, url)
    assert state() == before


def test_organization(admin_client, tmp_path):
    html = page(admin_client, ORGANIZATION)
    assert 'value="Coop"' in html
    response = submit(
        admin_client,
        ORGANIZATION,
        name="Example Inc.",
        website="https://example.com",
        on_call_email="oncall@example.com",
    )
    saved(response, ORGANIZATION)
    assert org_settings()["organization"] == {
        "name": "Example Inc.",
        "website": "https://example.com",
        "onCallEmail": "oncall@example.com",
    }
    change = ConfigChange.objects.filter(kind="settings").first()
    assert (change.source, change.changed_by.role.name) == ("console", "Admin")
    assert "details are saved." in page(admin_client, ORGANIZATION)
    _, exported, _ = run_config("export")
    assert "name: Example Inc." in exported
    assert "onCallEmail: oncall@example.com" in exported
    assert export_then_apply(tmp_path).startswith(NO_OP)
    # Emptied fields are the file's null again.
    saved(submit(admin_client, ORGANIZATION, website="", on_call_email=""), ORGANIZATION)
    assert org_settings()["organization"]["website"] is None


def test_review_console(admin_client, tmp_path):
    html = page(admin_client, REVIEW)
    assert 'name="lease_seconds" value="600"' in html
    response = submit(
        admin_client,
        REVIEW,
        require_policy="on",
        require_reason_on_action="on",
        require_reason_on_ignore=None,
        hide_skip="on",
        ignore_callback_url="https://platform.example/ignored",
        lease_seconds="900",
    )
    saved(response, REVIEW)
    assert org_settings()["review"] == {
        "requirePolicyForDecisions": True,
        "requireReasonOnAction": True,
        "requireReasonOnIgnore": False,
        "hideSkipForNonAdmins": True,
        "ignoreCallbackUrl": "https://platform.example/ignored",
        "leaseSeconds": 900,
    }
    _, exported, _ = run_config("export")
    assert "leaseSeconds: 900" in exported
    assert export_then_apply(tmp_path).startswith(NO_OP)
    assert re.search(r'name="hide_skip"[^>]*checked', page(admin_client, REVIEW))


def test_appeals_with_headers_and_body(admin_client, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_APPEALS_TOKEN", "the-value-itself")
    response = submit(
        admin_client,
        APPEALS,
        enabled=None,
        callback_url="https://platform.example/appeals",
        body='{"source": "coop", "nested": {"n": 1}}',
        **{
            "headers-0-name": "X-Source",
            "headers-0-kind": "value",
            "headers-0-value": "coop",
            "headers-1-name": "Authorization",
            "headers-1-kind": "secret",
            "headers-1-value": "SECRET_APPEALS_TOKEN",
        },
    )
    saved(response, APPEALS)
    assert org_settings()["appeals"] == {
        "enabled": False,
        "callbackUrl": "https://platform.example/appeals",
        "headers": {"X-Source": "coop", "Authorization": {"secret": "SECRET_APPEALS_TOKEN"}},
        "body": {"source": "coop", "nested": {"n": 1}},
    }
    html = page(admin_client, APPEALS)
    # The secret's variable is shown, its value never (nor in the export).
    assert 'value="SECRET_APPEALS_TOKEN"' in html
    assert "the-value-itself" not in html
    _, exported, _ = run_config("export")
    assert "Authorization: !secret SECRET_APPEALS_TOKEN" in exported
    assert "the-value-itself" not in exported
    assert export_then_apply(tmp_path).startswith(NO_OP)
    # Two empty rows to add headers; a header is removed by clearing it.
    assert 'name="headers-3-name"' in html
    response = submit(admin_client, APPEALS, **{"headers-0-name": "", "headers-0-value": ""})
    saved(response, APPEALS)
    assert org_settings()["appeals"]["headers"] == {
        "Authorization": {"secret": "SECRET_APPEALS_TOKEN"}
    }


def test_strikes_with_thresholds_and_parameters(admin_client, catalog, tmp_path):
    response = submit(
        admin_client,
        STRIKES,
        ttl_days="30",
        **{
            "thresholds-TOTAL_FORMS": "2",
            "thresholds-0-score": "5",
            "thresholds-0-actions": ["coop.manual-review-author"],
            "thresholds-0-parameters": "",
            "thresholds-1-score": "20",
            "thresholds-1-actions": ["ban"],
            "thresholds-1-parameters": '{"ban": {"days": 30}}',
        },
    )
    saved(response, STRIKES)
    assert org_settings()["strikes"] == {
        "ttlDays": 30,
        "thresholds": [
            {"score": 5, "actions": [{"id": "coop.manual-review-author", "parameters": {}}]},
            {"score": 20, "actions": [{"id": "ban", "parameters": {"days": 30}}]},
        ],
    }
    _, exported, _ = run_config("export")
    assert "- {score: 5, actions: [coop.manual-review-author]}" in exported
    assert export_then_apply(tmp_path).startswith(NO_OP)
    html = page(admin_client, STRIKES)
    assert 'value="{&quot;ban&quot;: {&quot;days&quot;: 30}}"' in html
    # Removing a threshold.
    saved(submit(admin_client, STRIKES, **{"thresholds-0-DELETE": "on"}), STRIKES)
    assert [t["score"] for t in org_settings()["strikes"]["thresholds"]] == [20]


def test_a_thresholds_actions_keep_the_files_order(admin_client, catalog):
    """The file may list a threshold's actions in any order; saving the page unchanged must
    not reorder them (that would be a change)."""
    actions = [{"id": "ban", "parameters": {"days": 1}}, "coop.manual-review-author"]
    strikes = {"ttlDays": 90, "thresholds": [{"score": 3, "actions": actions}]}
    assert save_object("settings", {"strikes": strikes}).ok
    before = state()
    saved(submit(admin_client, STRIKES), STRIKES)
    assert state() == before


def test_partial_items(admin_client, tmp_path):
    response = submit(
        admin_client,
        PARTIAL,
        endpoint="https://platform.example/items",
        **{
            "headers-0-name": "X-Api-Key",
            "headers-0-kind": "secret",
            "headers-0-value": "SECRET_PLATFORM_ITEMS_KEY",
        },
    )
    saved(response, PARTIAL)
    assert org_settings()["partialItems"] == {
        "endpoint": "https://platform.example/items",
        "headers": {"X-Api-Key": {"secret": "SECRET_PLATFORM_ITEMS_KEY"}},
    }
    assert export_then_apply(tmp_path).startswith(NO_OP)


def test_a_page_keeps_the_other_blocks(admin_client, catalog):
    assert save_object(
        "settings", {"wellness": {"blurLevel": 4}, "review": {"leaseSeconds": 90}}
    ).ok
    saved(submit(admin_client, ORGANIZATION, name="Acme"), ORGANIZATION)
    settings = org_settings()
    assert settings["wellness"]["blurLevel"] == 4
    assert settings["review"]["leaseSeconds"] == 90
    assert settings["organization"]["name"] == "Acme"


# --- Bad input: the file's message, on the field; nothing saved -------------------------

BAD = [
    (ORGANIZATION, {"name": ""}, "name", "settings.organization.name: must be a non-empty"),
    (ORGANIZATION, {"website": "ftp://x"}, "website", "settings.organization.website: must be"),
    (ORGANIZATION, {"on_call_email": "nobody"}, "on_call_email", "must be an email address"),
    (REVIEW, {"lease_seconds": "5"}, "lease_seconds", "leaseSeconds: must be from 60 to 86400"),
    (REVIEW, {"lease_seconds": "ten"}, "lease_seconds", "Enter a whole number."),
    (REVIEW, {"lease_seconds": ""}, "lease_seconds", "leaseSeconds: must be an integer"),
    (REVIEW, {"ignore_callback_url": "nope"}, "ignore_callback_url", "must be an http(s) URL"),
    (APPEALS, {"body": "[1, 2]"}, "body", "must be a JSON object"),
    (APPEALS, {"body": '{"a": '}, "body", "not valid JSON: Expecting value (line 1, column 7)"),
    (APPEALS, {"body": "[" * 5000 + "]" * 5000}, "body", "nested deeper than"),
    (APPEALS, {"body": '{"a":' * 30 + "1" + "}" * 30}, "body", "nested deeper than 20 levels"),
    (APPEALS, {"callback_url": "platform.example"}, "callback_url", "must be an http(s) URL"),
    (
        APPEALS,
        {"headers-0-name": "Authorization", "headers-0-kind": "secret", "headers-0-value": "HOME"},
        "headers-0-value",
        "settings.appeals.headers.Authorization: !secret: secrets must be environment variables",
    ),
    (
        APPEALS,
        {"headers-0-name": "Content-Type", "headers-0-value": "text/plain"},
        "headers-0-name",
        "header name is set by Coop and cannot be configured",
    ),
    (
        APPEALS,
        {"headers-0-name": "X-A", "headers-0-value": "1", "headers-1-name": "x-a"},
        "headers-1-name",
        "duplicate header 'x-a'",
    ),
    (APPEALS, {"headers-0-value": "orphan"}, "headers-0-name", "Give the header a name"),
    (PARTIAL, {"endpoint": "javascript:alert(1)"}, "endpoint", "must be an http(s) URL"),
    (STRIKES, {"ttl_days": "0"}, "ttl_days", "settings.strikes.ttlDays: must be from 1 to 3650"),
    (
        STRIKES,
        {"thresholds-0-score": "0", "thresholds-0-actions": "ban"},
        "thresholds-0-score",
        "settings.strikes.thresholds[0].score: must be at least 1",
    ),
    (
        STRIKES,
        {"thresholds-0-score": "3", "thresholds-0-actions": "ban"},
        "thresholds-0-parameters",
        "settings.strikes.thresholds[0].actions[0].parameters: missing required parameter 'days'",
    ),
    (
        STRIKES,
        {
            "thresholds-0-score": "3",
            "thresholds-0-actions": "ban",
            "thresholds-0-parameters": '{"ban": {"days": "thirty"}}',
        },
        "thresholds-0-parameters",
        "thresholds[0].actions[0].parameters.days: must be a number",
    ),
    (
        STRIKES,
        {
            "thresholds-0-score": "3",
            "thresholds-0-actions": "coop.manual-review-author",
            "thresholds-0-parameters": '{"ban": {"days": 1}}',
        },
        "thresholds-0-parameters",
        "'ban' is not one of this row's actions",
    ),
    (
        STRIKES,
        {"thresholds-0-score": "3", "thresholds-0-actions": "delete-everything"},
        "thresholds-0-actions",
        "Select a valid choice.",
    ),
]


@pytest.mark.parametrize(("url", "changes", "field", "message"), BAD, ids=lambda v: str(v)[:40])
def test_bad_input_is_named_and_nothing_is_saved(
    admin_client, catalog, url, changes, field, message
):
    before = state()
    response = submit(admin_client, url, **changes)
    html = response.content.decode()
    assert response.status_code == 400
    assert any(message in error for error in field_errors(html)), field_errors(html)
    assert field in invalid_fields(html)
    assert state() == before


def test_the_page_and_the_file_give_the_same_message(admin_client, tmp_path):
    response = submit(admin_client, REVIEW, lease_seconds="30")
    [message] = [e for e in field_errors(response.content.decode()) if "leaseSeconds" in e]
    code, _, err = run_config(
        "apply", tmp_path=tmp_path, text="settings:\n  review: {leaseSeconds: 30}\n"
    )
    assert code == 1
    assert message in err.splitlines()


def test_several_errors_are_shown_together(admin_client):
    response = submit(admin_client, ORGANIZATION, name="", website="x", on_call_email="y")
    errors = field_errors(response.content.decode())
    assert len([e for e in errors if e.startswith("settings.organization.")]) == 3
    assert org_settings()["organization"] == DEFAULTS["organization"]


def test_too_many_header_rows_are_refused(admin_client):
    data = form_data(page(admin_client, APPEALS))
    data["headers-TOTAL_FORMS"] = ["5000"]
    before = state()
    response = admin_client.post(APPEALS, data)
    assert response.status_code == 400
    assert state() == before


# --- Refused requests change nothing -------------------------------------------------------


@pytest.mark.parametrize("role", ["Moderator Manager", "Rules Manager", "External Moderator"])
@pytest.mark.parametrize("url", PAGES)
def test_other_roles_cannot_change_settings(client, make_user, url, role):
    client.force_login(make_user(role))
    before = state()
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "Taken over", "lease_seconds": "86400"}).status_code == 403
    assert state() == before


@pytest.mark.parametrize("url", PAGES)
def test_posts_need_the_csrf_token(make_user, url):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("Admin"))
    data = form_data(browser.get(url).content.decode(), name="Taken over")
    before = state()
    assert browser.post(url, data).status_code == 403
    assert state() == before


def test_signed_out_posts_go_to_the_login_page(client):
    before = state()
    for url in PAGES:
        response = client.post(url, {"name": "x"})
        assert response["Location"].startswith("/login?next=")
    assert state() == before


def test_every_page_is_listed_in_settings(admin_client):
    html = page(admin_client, "/settings/")
    for url in [*PAGES, "/settings/signing-key", "/settings/history"]:
        assert f'href="{url}"' in html
