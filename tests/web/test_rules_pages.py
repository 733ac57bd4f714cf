"""Rules in the console (/rules): the list with search, filters and stars; a rule's page with
its definition, passing samples and version history; the form with the condition builder's
JSON, live validation and per-status permissions (accounts.md); the spot test. Saved through
the configuration writer, so the export shows exactly what the form saved."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from coop.catalog.models import ConfigChange
from coop.config.engine import export_state
from coop.config.services import save_object
from coop.enforcement.models import ActionExecution
from coop.insights.fold import fold
from coop.insights.models import RuleAlarm
from coop.rules.models import Rule, RuleExecution, RuleStar
from factories import post
from insights.events import rule_executions
from web.configcli import export_then_apply_is_a_no_op

pytestmark = pytest.mark.django_db

CONDITION = {
    "any": [
        {
            "input": {"field": "text"},
            "signal": "TEXT_MATCHING_CONTAINS_TEXT",
            "banks": ["scam-words"],
        },
        {
            "all": [
                {
                    "input": "ALL_TEXT",
                    "signal": "TEXT_MATCHING_CONTAINS_REGEX",
                    "values": ["bit\\.ly"],
                },
                {
                    "input": "AUTHOR",
                    "signal": "USER_STRIKE_VALUE",
                    "comparator": "GREATER_THAN_OR_EQUALS",
                    "threshold": 3,
                },
            ]
        },
    ]
}


@pytest.fixture
def catalog(db):
    for kind, data in (
        (
            "itemTypes",
            {
                "id": "user",
                "name": "User",
                "kind": "USER",
                "fields": [{"name": "name", "type": "STRING"}],
            },
        ),
        (
            "itemTypes",
            {
                "id": "post",
                "name": "Post",
                "kind": "CONTENT",
                "fields": [
                    {"name": "text", "type": "STRING", "required": True},
                    {"name": "images", "type": "ARRAY", "items": "IMAGE"},
                    {"name": "author", "type": "RELATED_ITEM"},
                ],
                "roles": {"creatorId": "author"},
            },
        ),
        ("policies", {"id": "spam", "name": "Spam"}),
        (
            "banks",
            {"id": "scam-words", "name": "Scam words", "kind": "TEXT", "values": ["free money"]},
        ),
        (
            "actions",
            {
                "id": "delete",
                "name": "Delete",
                "callbackUrl": "https://platform.example/delete",
                "parameters": [{"name": "days", "type": "NUMBER"}],
            },
        ),
    ):
        result = save_object(kind, data)
        assert result.ok, result.errors


def rule(rule_id: str, **fields) -> None:
    data = {
        "id": rule_id,
        "name": fields.pop("name", rule_id.title()),
        "itemTypes": ["post"],
        "condition": CONDITION,
        **fields,
    }
    result = save_object("rules", data)
    assert result.ok, result.errors


def form(**overrides) -> dict:
    data = {
        "name": "Scam detector",
        "description": "",
        "status": "DRAFT",
        "item_types": ["post"],
        "policies": ["spam"],
        "tags": "scams, money",
        "owner": "",
        "expires_at": "",
        "max_daily_actions": "",
        "condition": json.dumps(CONDITION),
        "actions": ["delete"],
        "param-delete-days": "7",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# -- the list -------------------------------------------------------------------------------


def test_the_list_filters_by_search_status_tag_item_type_and_owner(
    admin_client, catalog, make_user
):
    owner = make_user("Analyst", email="owner@example.com")
    rule("scam", name="Scam detector", status="LIVE", tags=["scams"], owner="owner@example.com")
    rule("promo", name="Promotions", description="Catches spammy promos", tags=["marketing"])
    rule("old", name="Old campaign", status="LIVE", expiresAt="2020-01-01T00:00:00Z")
    rule("arch", name="Archived one", status="ARCHIVED", expiresAt="2020-01-01T00:00:00Z")

    def names(query: str) -> list[str]:
        response = admin_client.get("/rules" + query)
        assert response.status_code == 200
        return [entry["row"].rule.pk for entry in response.context["rows"]]

    assert names("") == ["arch", "old", "promo", "scam"]
    assert names("?q=spammy") == ["promo"]  # description
    assert names("?q=SCAMS") == ["scam"]  # a tag, any case
    assert names("?status=EXPIRED") == ["old"]  # past expiresAt; ARCHIVED stays ARCHIVED
    assert names("?status=LIVE") == ["scam"]
    assert names("?tag=marketing") == ["promo"]
    assert names(f"?owner={owner.pk}") == ["scam"]
    assert names("?item_type=user") == []
    page = admin_client.get("/rules").content.decode()
    assert "EXPIRED" in page
    assert "owner@example.com" in page
    assert admin_client.get("/rules?status=BOGUS").status_code == 400


def test_stars_are_per_user_and_put_starred_rules_first(client, catalog, make_user):
    rule("alpha")
    rule("beta")
    me, other = make_user("Moderator"), make_user("Moderator")
    client.force_login(me)
    response = client.post("/rules/beta/star", {"starred": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "★" in response.content.decode()
    assert [e["row"].rule.pk for e in client.get("/rules").context["rows"]] == ["beta", "alpha"]
    client.force_login(other)
    assert [e["row"].rule.pk for e in client.get("/rules").context["rows"]] == ["alpha", "beta"]
    client.force_login(me)
    assert client.post("/rules/beta/star", {"starred": "0"}).status_code == 302
    assert not RuleStar.objects.exists()


# -- the rule page --------------------------------------------------------------------------


def test_the_rule_page_shows_the_definition_samples_and_history_with_diffs(admin_client, catalog):
    rule("scam", name="Scam detector", status="BACKGROUND")
    rule("scam", name="Scam detector v2", status="BACKGROUND")
    now = timezone.now()
    tree = {
        "op": "any",
        "outcome": "PASSED",
        "durationUs": 3,
        "children": [
            {
                "input": {"field": "text"},
                "signal": "TEXT_MATCHING_CONTAINS_TEXT",
                "outcome": "PASSED",
                "score": True,
                "matchedValue": {
                    "value": "get free money",
                    "index": 0,
                    "entry": "free money",
                    "bank": "scam-words",
                },
                "durationUs": 1,
            },
            {"op": "all", "skipped": True},
        ],
    }
    for i, outcome in enumerate(["PASSED", "FAILED", "PASSED"]):
        RuleExecution.objects.create(
            rule_id="scam",
            rule_version=2,
            environment="BACKGROUND",
            submission_id=i,
            item_id=f"p-{i}",
            item_type_id="post",
            outcome=outcome,
            result=tree,
            duration_us=3,
            created_at=now - timedelta(minutes=i),
        )
    response = admin_client.get("/rules/scam")
    assert response.status_code == 200
    assert [s["execution"].item_id for s in response.context["samples"]] == ["p-0", "p-2"]
    page = response.content.decode()
    assert "field text · Contains text · banks Scam words" in page  # the definition, readable
    assert "Author (user) · User strikes ≥ 3" in page
    assert "get free money" in page
    assert "skipped" in page
    history = response.context["history"]
    assert [c.version for c, _ in history] == [2, 1]
    assert any(line.text.startswith("name: Scam detector v2") for line in history[0][1].lines)
    assert admin_client.get("/rules/nope").status_code == 404


def test_the_samples_query_uses_the_passing_index(catalog):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT * FROM rules_ruleexecution WHERE rule_id = 'x' AND outcome = 'PASSED'"
            " ORDER BY created_at DESC LIMIT 20"
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "rule_exec_passed" in plan


# -- the form -------------------------------------------------------------------------------


def test_a_rule_made_in_the_form_is_what_the_file_holds(admin_client, catalog, make_user):
    make_user("Analyst", email="owner@example.com")
    response = admin_client.post(
        "/rules/new",
        form(owner="owner@example.com", expires_at="2030-05-01T12:30", max_daily_actions="100"),
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    assert response["Location"] == "/rules/scam-detector"
    (exported,) = export_state()["rules"]
    assert exported == {
        "id": "scam-detector",
        "name": "Scam detector",
        "itemTypes": ["post"],
        "policies": ["spam"],
        "actions": [{"id": "delete", "parameters": {"days": 7}}],
        "tags": ["scams", "money"],
        "expiresAt": "2030-05-01T12:30:00Z",
        "maxDailyActions": 100,
        "condition": CONDITION,
        "owner": "owner@example.com",
    }
    export_then_apply_is_a_no_op()
    # Editing shows what was saved; saving unchanged changes nothing.
    page = admin_client.get("/rules/scam-detector/edit")
    bound = page.context["form"]
    assert json.loads(bound["condition"].value()) == CONDITION
    versions = ConfigChange.objects.count()
    again = admin_client.post(
        "/rules/scam-detector/edit",
        form(owner="owner@example.com", expires_at="2030-05-01T12:30", max_daily_actions="100"),
    )
    assert again.status_code == 302
    assert ConfigChange.objects.count() == versions


def test_an_invalid_condition_is_marked_at_its_path_and_nothing_is_saved(admin_client, catalog):
    bad = {
        "any": [
            CONDITION["any"][0],
            {
                "all": [
                    {
                        "input": {"field": "text"},
                        "signal": "TEXT_MATCHING_CONTAINS_TEXT",
                        "banks": ["gone"],
                    }
                ]
            },
        ]
    }
    before = ConfigChange.objects.count()
    response = admin_client.post("/rules/new", form(condition=json.dumps(bad)))
    assert response.status_code == 400
    assert response.context["condition_errors"] == [
        {"path": "condition.any[1].all[0].banks[0]", "message": "unknown bank 'gone'"}
    ]
    page = response.content.decode()
    assert "condition.any[1].all[0].banks[0]" in page
    assert "unknown bank" in page
    assert not Rule.objects.exists()
    assert ConfigChange.objects.count() == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"condition": "{nope"}, "condition", "Not valid JSON"),
        ({"item_types": []}, "item_types", "a rule needs at least one item type"),
        ({"max_daily_actions": "0"}, "max_daily_actions", ""),
        ({"expires_at": "tomorrow"}, "expires_at", "Not a date and time."),
        ({"owner": "ghost@example.com"}, "owner", ""),
    ],
)
def test_bad_fields_are_marked_and_nothing_is_saved(
    admin_client, catalog, overrides, field, message
):
    response = admin_client.post("/rules/new", form(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert not Rule.objects.exists()


def test_action_parameters_are_checked_by_the_actions_declaration(admin_client, catalog):
    response = admin_client.post("/rules/new", form(**{"param-delete-days": "soon"}))
    assert response.status_code == 400
    (choice,) = [a for a in response.context["form"].action_choices() if a.id == "delete"]
    assert choice.errors == ["actions[0].parameters.days: must be a number"]
    assert not Rule.objects.exists()


def test_live_validation_runs_the_validator_and_saves_nothing(admin_client, catalog):
    before = ConfigChange.objects.count()
    ok = admin_client.post("/rules/validate", form())
    assert ok.status_code == 200
    assert "Valid: saving would store" in ok.content.decode()
    bad_leaf = {
        "all": [
            {"input": {"field": "nope"}, "signal": "TEXT_MATCHING_CONTAINS_TEXT", "values": ["x"]}
        ]
    }
    bad = admin_client.post("/rules/validate", form(condition=json.dumps(bad_leaf)))
    page = bad.content.decode()
    assert "condition.all[0].input" in page
    assert "unknown field 'nope'" in page
    assert 'id="condition-errors-live"' in page
    assert ConfigChange.objects.count() == before
    assert not Rule.objects.exists()


def test_the_builder_is_offered_inputs_signals_with_availability_and_banks(admin_client, catalog):
    catalog_data = admin_client.get("/rules/new").context["catalog"]
    post_type = next(t for t in catalog_data["itemTypes"] if t["id"] == "post")
    assert {"name": "images", "type": "IMAGE", "container": "ARRAY"} in post_type["fields"]
    signals = {s["id"]: s for s in catalog_data["signals"]}
    assert signals["TEXT_MATCHING_CONTAINS_TEXT"]["bankKinds"] == ["TEXT"]
    openai = signals["OPEN_AI_HATE_TEXT_MODEL"]
    assert openai["enabled"] is False
    assert "not configured" in openai["disabledReason"]
    assert signals["GOOGLE_CONTENT_SAFETY_API_IMAGE"]["automated"] is False
    assert signals["GOOGLE_CONTENT_SAFETY_API_IMAGE"]["enumValues"][0] == "VERY_LOW"
    # Recommended thresholds (high precision, high recall), as the reference Coop declares
    # them (reference/integrations.md); none where there is no basis.
    assert openai["recommended"] == {"precision": 0.95, "recall": 0.90}
    assert signals["ZENTROPI_LABELER"]["recommended"] == {"precision": 0.8, "recall": 0.6}
    assert signals["GOOGLE_CONTENT_SAFETY_API_IMAGE"]["recommended"] == {
        "precision": "VERY_HIGH",
        "recall": "MEDIUM",
    }
    assert signals["USER_STRIKE_VALUE"]["recommended"] is None
    assert catalog_data["banks"] == [{"id": "scam-words", "name": "Scam words", "kind": "TEXT"}]
    # A disabled signal is refused on save, with the reason the builder showed.
    leaf = {
        "input": {"field": "text"},
        "signal": "OPEN_AI_HATE_TEXT_MODEL",
        "comparator": "GREATER_THAN",
        "threshold": 0.5,
    }
    response = admin_client.post("/rules/new", form(condition=json.dumps({"all": [leaf]})))
    assert response.context["condition_errors"][0]["path"] == "condition.all[0].signal"
    assert openai["disabledReason"] in response.context["condition_errors"][0]["message"]


def test_analysts_change_non_live_rules_only(client, catalog, make_user):
    rule("live-one", status="LIVE")
    rule("draft-one", status="DRAFT")
    client.force_login(make_user("Analyst"))
    assert "This rule is LIVE" in client.get("/rules/live-one/edit").content.decode()
    assert "This rule is LIVE" not in client.get("/rules/draft-one/edit").content.decode()
    assert client.post("/rules/new", form(status="DRAFT")).status_code == 302
    refused = client.post("/rules/new", form(name="Live now", status="LIVE"))
    assert refused.status_code == 403
    assert "MUTATE_LIVE_RULES" in refused.content.decode()
    assert not Rule.objects.filter(name="Live now").exists()
    assert (
        client.post("/rules/draft-one/edit", form(name="Draft one", status="LIVE")).status_code
        == 403
    )
    assert (
        client.post("/rules/live-one/edit", form(name="Live one", status="DRAFT")).status_code
        == 403
    )
    assert client.post("/rules/live-one/archive").status_code == 403
    assert client.post("/rules/live-one/delete").status_code == 403
    assert Rule.objects.get(pk="live-one").status == "LIVE"
    assert Rule.objects.get(pk="draft-one").status == "DRAFT"
    assert client.post("/rules/draft-one/archive").status_code == 302
    assert Rule.objects.get(pk="draft-one").status == "ARCHIVED"
    confirm = client.get("/rules/draft-one/delete")
    assert confirm.status_code == 200
    assert "Its execution log stays" in confirm.content.decode()
    assert client.post("/rules/draft-one/delete").status_code == 302
    assert not Rule.objects.filter(pk="draft-one").exists()


def test_rules_managers_change_live_rules(client, catalog, make_user):
    rule("live-one", status="LIVE")
    client.force_login(make_user("Rules Manager"))
    response = client.post("/rules/live-one/edit", form(name="Live one", status="BACKGROUND"))
    assert response.status_code == 302
    assert Rule.objects.get(pk="live-one").status == "BACKGROUND"


# -- the spot test --------------------------------------------------------------------------


def _untouched():
    return (
        RuleExecution.objects.count(),
        ActionExecution.objects.count(),
        ConfigChange.objects.count(),
    )


def test_the_spot_test_on_the_form_uses_the_rule_as_edited(admin_client, catalog):
    before = _untouched()
    data = form(spot_type="post", spot_source="json", spot_json='{"text": "free money inside"}')
    response = admin_client.post("/rules/spot-test", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The rule would fire on this item" in page
    assert "free money" in page
    assert response.context["tree"]["children"][0]["sentence"].startswith("field text")
    # Unsaved: the form's version of the rule, not a stored one.
    assert not Rule.objects.exists()
    assert _untouched() == before


def test_the_spot_test_shows_input_errors_never_a_500(admin_client, catalog):
    for extra in (
        {"spot_source": "json", "spot_json": '{"images": "x"}'},
        {"spot_source": "json", "spot_json": "not json"},
        {"spot_source": "id", "spot_id": "missing"},
        {"spot_source": "id", "spot_id": ""},
    ):
        response = admin_client.post("/rules/spot-test", form(spot_type="post", **extra))
        assert response.status_code == 200
        assert "Cannot spot test" in response.content.decode()
    invalid = admin_client.post(
        "/rules/spot-test", form(condition="[]", spot_type="post", spot_id="x")
    )
    assert "Correct the rule to spot test it" in invalid.content.decode()


def test_the_spot_test_on_the_rule_page_uses_the_saved_rule_and_an_item_id(
    client, catalog, make_user
):
    rule("scam", status="LIVE", actions=["delete"])
    post("p-5", text="send free money")
    client.force_login(make_user("Moderator"))  # VIEW_RULES_DASHBOARD
    before = _untouched()
    response = client.post(
        "/rules/scam/spot-test", {"spot_type": "post", "spot_source": "id", "spot_id": "p-5"}
    )
    assert response.status_code == 200
    assert response.context["result"].outcome == "PASSED"
    skipped = response.context["tree"]["children"][1]  # decided by the first condition
    assert [c["skipped"] for c in skipped["children"]] == [True, True]
    assert skipped["children"][1]["sentence"] == "Author (user) · User strikes ≥ 3"
    assert "submission #" in response.content.decode()
    assert _untouched() == before  # a LIVE rule with an action: still nothing executed


def test_the_list_and_the_rule_page_show_passes_and_the_alarm_from_the_rollups(
    admin_client, catalog
):
    """rules.md: rule pages show pass counts over time and the alarm state; read from the
    insights rollups (filled by the event triggers, folded by the worker's task)."""
    rule("scam")
    rule("quiet")
    now = timezone.now()
    rule_executions([("scam", "LIVE", "PASSED", now)] * 3 + [("scam", "LIVE", "FAILED", now)])
    fold()
    RuleAlarm.objects.create(
        rule_id="scam", state="ALARM", since=now, hour=now, observed_passes=3, evaluations=4
    )
    page = admin_client.get("/rules").content.decode()
    scam_row = page.split('href="/rules/scam"')[1].split("</tr>")[0]
    quiet_row = page.split('href="/rules/quiet"')[1].split("</tr>")[0]
    assert "badge--alarm" in scam_row
    assert "Not tested" in quiet_row
    assert "Passes per day, last 14 days" in scam_row
    detail = admin_client.get("/rules/scam?range=24h&bucket=hour")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'id="activity-title"' in html
    assert "/insights/rules/scam/activity.csv" in html
    assert detail.context["chart"].lines[0].label == "Passes"
    assert sum(detail.context["chart"].lines[0].values) == 3


def test_backtest_as_edited_opens_the_backtest_form_with_the_unsaved_rule(
    client, catalog, make_user
):
    """rules.md: a backtest evaluates the rule saved or being edited; nothing is saved."""
    rule("scam")
    client.force_login(make_user("Analyst"))
    edited = {"any": [{"input": "ALL_TEXT", "signal": "TEXT_MATCHING_CONTAINS_TEXT",
                       "values": ["edited-term"]}]}  # fmt: skip
    response = client.post(
        "/rules/scam/backtest/edited", form(name="Scam", condition=json.dumps(edited))
    )
    assert response.status_code == 200
    backtest_form = response.context["form"]
    assert backtest_form.edited["condition"] == edited
    assert "edited-term" in response.content.decode()
    assert Rule.objects.get(pk="scam").condition == CONDITION  # nothing saved
    broken = client.post("/rules/scam/backtest/edited", form(condition="{oops"))
    assert broken.status_code == 400
    client.force_login(make_user("Moderator"))  # no RUN_BACKTEST (accounts.md)
    assert client.post("/rules/scam/backtest/edited", form()).status_code == 403
