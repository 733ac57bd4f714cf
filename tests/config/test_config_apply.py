from __future__ import annotations

import pytest
import yaml

from coop.catalog.models import Action, Bank, BankEntry, ConfigChange, ItemType, OrgSettings, Policy
from coop.review.models import Queue
from coop.rules.models import RoutingRule, Rule

pytestmark = pytest.mark.django_db


def db_snapshot() -> dict:
    """Everything configuration-related, to prove a command changed nothing."""
    return {
        "itemTypes": list(ItemType.objects.values()),
        "policies": list(Policy.objects.values()),
        "actions": list(Action.objects.values()),
        "banks": list(Bank.objects.values()),
        "entries": list(BankEntry.objects.values()),
        "rules": list(Rule.objects.values()),
        "queues": list(Queue.objects.values()),
        "routing": list(RoutingRule.objects.values()),
        "settings": list(OrgSettings.objects.values()),
        "changes": ConfigChange.objects.count(),
    }


def test_apply_example_to_empty_database(run_config, moderator, example_text):
    code, out, err = run_config("apply", text=example_text)
    assert code == 0, err
    assert ItemType.objects.count() == 3
    assert Policy.objects.count() == 4
    assert Policy.objects.get(id="scams").parent_id == "spam"
    assert Action.objects.filter(builtin=False).count() == 2
    assert Bank.objects.count() == 4
    assert BankEntry.objects.filter(bank_id="campuses").count() == 3
    assert Rule.objects.count() == 3
    assert Queue.objects.count() == 4
    assert RoutingRule.objects.filter(kind="ROUTING").count() == 2
    assert RoutingRule.objects.filter(kind="APPEAL").count() == 1
    assert list(Queue.objects.get(id="spam").reviewers.values_list("email", flat=True)) == [
        "mod@example.com"
    ]
    data = OrgSettings.load().data
    assert data["settings"]["wellness"]["colorScheme"] == "GRAYSCALE"
    assert data["ncmec"]["defaultQueue"] == "ncmec"
    lines = out.strip().splitlines()
    assert "+ rules scam-rule" in lines
    assert "~ queues default" not in lines  # the migration's default queue is unchanged
    assert lines[-1] == "Plan: 22 to create, 1 to change, 0 to delete, 2 unchanged."
    assert "~ settings" in lines


def test_export_then_apply_is_a_no_op(run_config, moderator, example_text):
    assert run_config("apply", text=example_text)[0] == 0
    code, exported, _ = run_config("export")
    assert code == 0
    before = db_snapshot()
    code, out, err = run_config("apply", text=exported)
    assert code == 0, err
    assert out.strip().splitlines() == [
        "Plan: 0 to create, 0 to change, 0 to delete, 25 unchanged."
    ]
    assert db_snapshot() == before


def test_export_to_file_and_reapply_example_is_a_no_op(
    run_config, moderator, example_text, tmp_path
):
    run_config("apply", text=example_text)
    target = tmp_path / "out.yaml"
    assert run_config("export", "-o", str(target))[0] == 0
    assert yaml.safe_load(target.read_text().replace("!secret", ""))["version"] == 1
    code, out, _ = run_config("apply", text=example_text)
    assert code == 0
    assert out.strip().splitlines()[-1].startswith("Plan: 0 to create, 0 to change, 0 to delete")


def test_secrets_are_never_exported_in_clear(run_config, moderator, example_text, monkeypatch):
    monkeypatch.setenv("PLATFORM_ACTIONS_TOKEN", "super-secret-value")
    run_config("apply", text=example_text)
    assert Action.objects.get(id="delete").headers["Authorization"] == {
        "secret": "SECRET_PLATFORM_ACTIONS_TOKEN"
    }
    _, exported, _ = run_config("export")
    assert "super-secret-value" not in exported
    assert "Authorization: !secret SECRET_PLATFORM_ACTIONS_TOKEN" in exported
    assert "X-Api-Key: !secret SECRET_PLATFORM_ITEMS_KEY" in exported


def test_dry_run_changes_nothing(run_config, moderator, example_text):
    before = db_snapshot()
    code, out, _ = run_config("apply", "--dry-run", text=example_text)
    assert code == 0
    assert "+ rules scam-rule" in out
    assert "Plan: 22 to create" in out
    assert db_snapshot() == before


def test_versioning_and_config_changes(run_config, moderator, example_text):
    run_config("apply", text=example_text)
    created = ConfigChange.objects.get(kind="rules", object_id="scam-rule")
    assert (created.version, created.operation, created.source) == (1, "CREATE", "config-file")
    assert created.data["condition"]["any"][0]["banks"] == ["scam-words"]
    changed = example_text.replace("name: Scam detector", "name: Scam detector v2")
    code, out, _ = run_config("apply", text=changed)
    assert code == 0
    assert "~ rules scam-rule" in out.splitlines()
    assert out.strip().splitlines()[-1].startswith("Plan: 0 to create, 1 to change, 0 to delete")
    rule = Rule.objects.get(id="scam-rule")
    assert (rule.name, rule.version) == ("Scam detector v2", 2)
    latest = ConfigChange.objects.filter(kind="rules", object_id="scam-rule").first()
    assert (latest.version, latest.operation, latest.data["name"]) == (2, "UPDATE", rule.name)
    # The migration's default queue had no history: its first recorded change is version 2.
    assert ConfigChange.objects.filter(kind="queues", object_id="default").count() == 0


SMALL = """
itemTypes:
  - {id: post, name: Post, kind: CONTENT, fields: [{name: text, type: STRING}]}
banks:
  - {id: words, name: Words, kind: TEXT, values: [a]}
  - {id: old, name: Old, kind: TEXT, values: [b]}
rules:
  - id: r1
    name: R1
    itemTypes: [post]
    condition: {input: {field: text}, signal: TEXT_MATCHING_CONTAINS_TEXT, banks: [words]}
queues:
  - {id: extra, name: Extra}
"""


def test_prune_deletes_objects_absent_from_the_file(run_config):
    assert run_config("apply", text=SMALL)[0] == 0
    smaller = SMALL.replace("  - {id: old, name: Old, kind: TEXT, values: [b]}\n", "")
    code, out, _ = run_config("apply", text=smaller)
    assert "Plan: 0 to create, 0 to change, 0 to delete" in out  # without --prune nothing goes
    assert Bank.objects.filter(id="old").exists()
    code, out, err = run_config("apply", "--prune", text=smaller)
    assert code == 0, err
    assert "- banks old" in out.splitlines()
    assert not Bank.objects.filter(id="old").exists()
    # Built-in actions and the default queues are never pruned.
    assert Action.objects.filter(builtin=True).count() == 3
    assert Queue.objects.filter(is_default=True).count() == 2
    deleted = ConfigChange.objects.get(kind="banks", object_id="old", operation="DELETE")
    assert deleted.version == 2
    assert deleted.data is None


def test_prune_refuses_rules_referencing_deleted_banks(run_config):
    run_config("apply", text=SMALL)
    before = db_snapshot()
    without_words = SMALL.replace("  - {id: words, name: Words, kind: TEXT, values: [a]}\n", "")
    code, _, err = run_config("apply", "--prune", text=without_words)
    assert code == 1
    assert "rules[0].condition.banks[0]: unknown bank 'words'" in err.splitlines()
    assert db_snapshot() == before


def test_recreating_a_deleted_object_continues_its_versions(run_config):
    run_config("apply", text=SMALL)
    without_old = SMALL.replace("  - {id: old, name: Old, kind: TEXT, values: [b]}\n", "")
    run_config("apply", "--prune", text=without_old)
    run_config("apply", text=SMALL)
    assert Bank.objects.get(id="old").version == 3


def test_deleting_a_queue_moves_its_jobs_to_the_default_queue(run_config):
    from coop.review.models import Job

    run_config("apply", text=SMALL)
    job = Job.objects.create(queue_id="extra", item_id="1", item_type_id="post", source="REPORT")
    code, out, err = run_config("apply", "--prune", text=SMALL.split("queues:")[0])
    assert code == 0, err
    assert "- queues extra" in out.splitlines()
    job.refresh_from_db()
    assert (job.queue_id, job.status) == ("default", "PENDING")


def test_queue_referenced_by_a_routing_rule_cannot_be_pruned(run_config):
    text = (
        SMALL
        + """routingRules:
  - {id: to-extra, name: To extra, itemTypes: [post], queue: extra, condition: {all: []}}
"""
    )
    run_config("apply", text=text)
    code, _, err = run_config(
        "apply", "--prune", text=text.replace("queues:\n  - {id: extra, name: Extra}\n", "")
    )
    assert code == 1
    assert "routingRules[0].queue: unknown queue 'extra'" in err.splitlines()
    assert Queue.objects.filter(id="extra").exists()


def test_new_default_queue_replaces_the_old_one(run_config):
    code, out, err = run_config(
        "apply", text="queues:\n  - {id: main, name: Main, default: true}\n"
    )
    assert code == 0, err
    assert {"+ queues main", "~ queues default"} <= set(out.splitlines())
    assert Queue.objects.get(is_default=True, is_appeals=False).id == "main"


def test_yaml_syntax_error_is_reported_with_line_and_column(run_config):
    code, _, err = run_config("apply", text="rules:\n  - id: [unclosed\n")
    assert code == 1
    assert "line 3, column 1" in err or "line 2" in err
    assert "YAML syntax error" in err


def test_prune_deletes_nested_policies_children_first(run_config):
    tree = """
policies:
  - id: a
    name: A
    children:
      - id: b
        name: B
        children: [{id: c, name: C}]
"""
    assert run_config("apply", text=tree)[0] == 0
    assert Policy.objects.get(id="c").parent_id == "b"
    code, _, err = run_config("apply", "--prune", text="policies: []\n")
    assert code == 0, err
    assert not Policy.objects.exists()
    # Reparenting in the other direction is written parents-first.
    flipped = (
        "policies:\n"
        "  - {id: c, name: C, children: [{id: b, name: B, children: [{id: a, name: A}]}]}\n"
    )
    assert run_config("apply", text=tree)[0] == 0
    code, _, err = run_config("apply", text=flipped)
    assert code == 0, err
    assert Policy.objects.get(id="a").parent_id == "b"
    assert Policy.objects.get(id="c").parent_id is None
