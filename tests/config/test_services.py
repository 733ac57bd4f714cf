from __future__ import annotations

import pytest

from coop.catalog.models import Bank, ConfigChange, Policy
from coop.catalog.org_settings import org_settings
from coop.config.services import delete_object, save_object
from coop.rules.models import Rule

pytestmark = pytest.mark.django_db

POST = {
    "id": "post",
    "name": "Post",
    "kind": "CONTENT",
    "fields": [{"name": "text", "type": "STRING"}],
}
WORDS = {"id": "words", "name": "Words", "kind": "TEXT", "values": ["spam"]}
RULE = {
    "id": "r1",
    "name": "R1",
    "itemTypes": ["post"],
    "condition": {
        "input": {"field": "text"},
        "signal": "TEXT_MATCHING_CONTAINS_TEXT",
        "banks": ["words"],
    },
}


def test_save_one_object_validates_versions_and_records_history():
    assert save_object("itemTypes", POST).ok
    assert save_object("banks", WORDS).ok
    result = save_object("rules", RULE)
    assert result.ok
    assert result.change.operation == "CREATE"
    result = save_object("rules", {**RULE, "name": "Renamed"})
    assert result.change.operation == "UPDATE"
    assert Rule.objects.get(id="r1").version == 2
    assert ConfigChange.objects.filter(kind="rules", object_id="r1", source="console").count() == 2
    assert save_object("rules", {**RULE, "name": "Renamed"}).change is None  # nothing changed


def test_save_reports_paths_relative_to_the_object():
    save_object("itemTypes", POST)
    result = save_object("rules", {**RULE, "condition": {"any": [RULE["condition"]]}})
    assert [str(e) for e in result.errors] == ["condition.any[0].banks[0]: unknown bank 'words'"]
    result = save_object("itemTypes", {**POST, "fields": [{"name": "x", "type": "ARRAY"}]})
    assert [str(e) for e in result.errors] == ["fields[0].items: ARRAY needs items: <scalar>"]
    assert not Rule.objects.exists()


def test_deleting_a_bank_still_used_by_a_rule_is_refused():
    save_object("itemTypes", POST)
    save_object("banks", WORDS)
    save_object("rules", RULE)
    result = delete_object("banks", "words")
    assert [str(e) for e in result.errors] == [
        "rules[id=r1].condition.banks[0]: unknown bank 'words'"
    ]
    assert Bank.objects.filter(id="words").exists()
    assert delete_object("rules", "r1").ok
    result = delete_object("banks", "words")
    assert result.ok
    assert result.change.operation == "DELETE"
    assert not Bank.objects.filter(id="words").exists()


def test_default_queue_cannot_be_deleted():
    result = delete_object("queues", "default")
    assert [str(e) for e in result.errors] == [
        "queues[id=default]: the default queue cannot be deleted; "
        "make another queue the default first"
    ]


def test_policy_with_parent_and_cycles():
    assert save_object("policies", {"id": "spam", "name": "Spam"}).ok
    assert save_object("policies", {"id": "scams", "name": "Scams", "parent": "spam"}).ok
    assert Policy.objects.get(id="scams").parent_id == "spam"
    result = save_object("policies", {"id": "spam", "name": "Spam", "parent": "scams"})
    assert "parent: policies cannot be their own ancestor" in [str(e) for e in result.errors]


def test_settings_defaults_and_save():
    assert org_settings()["strikes"] == {"ttlDays": 90, "thresholds": []}
    result = save_object("settings", {"strikes": {"ttlDays": 30}})
    assert result.ok
    assert org_settings()["strikes"]["ttlDays"] == 30
    result = save_object("settings", {"wellness": {"blurLevel": 9}})
    assert [str(e) for e in result.errors] == ["wellness.blurLevel: must be from 0 to 6"]


def test_routing_rules_keep_their_place_and_can_be_reordered():
    from coop.config.services import reorder_routing_rules
    from coop.rules.models import RoutingRule

    save_object("itemTypes", POST)
    for rule_id in ("a", "b", "c"):
        rule = {"id": rule_id, "name": rule_id, "itemTypes": ["post"], "queue": "default"}
        assert save_object("routingRules", {**rule, "condition": {"all": []}}).ok

    def order():
        return list(RoutingRule.objects.order_by("position").values_list("id", flat=True))

    assert order() == ["a", "b", "c"]
    result = save_object(
        "routingRules",
        {"id": "b", "name": "B!", "itemTypes": ["post"], "queue": "nope", "condition": {}},
    )
    assert [str(e) for e in result.errors] == [
        "queue: unknown queue 'nope'",
        "condition: a leaf needs an input (or use all/any/xor)",
    ]
    edited = {"id": "b", "name": "B!", "itemTypes": ["post"], "queue": "default"}
    assert save_object("routingRules", {**edited, "condition": {"all": []}}).ok
    assert order() == ["a", "b", "c"]
    assert reorder_routing_rules("routingRules", ["c", "a", "b"]).ok
    assert order() == ["c", "a", "b"]
