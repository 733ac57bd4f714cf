"""`clearOtherReports` of queues in the configuration file (review.md, Clear other reports)."""

from __future__ import annotations

import pytest
import yaml

from coop.catalog.models import ConfigChange
from coop.config.services import save_object
from coop.review.models import ClearDisposition, ClearScope, Queue

from .test_config_apply import db_snapshot

pytestmark = pytest.mark.django_db

TEXT = """
version: 1
itemTypes:
  - {id: post, name: Post, kind: CONTENT, fields: [{name: text, type: STRING}]}
actions:
  - {id: delete, name: Delete, callbackUrl: "https://x.example/delete"}
queues:
  - {id: main, name: Main, default: true}
  - id: spam
    name: Spam
    clearOtherReports: {disposition: IGNORE, triggerActions: [delete, coop.manual-review]}
  - {id: appeals, name: Appeals, appeals: true, default: true}
"""


def queues(exported: str) -> dict[str, dict]:
    return {q["id"]: q for q in yaml.safe_load(exported.replace("!secret", ""))["queues"]}


def test_apply_sets_the_queue_fields(run_config, moderator, example_text):
    code, _, err = run_config("apply", text=example_text)
    assert code == 0, err
    spam = Queue.objects.get(id="spam")
    assert spam.clear_disposition == ClearDisposition.SAME_DECISION
    assert spam.clear_scope == ClearScope.ALL_QUEUES
    assert spam.clear_trigger_actions == ["delete"]
    ncmec = Queue.objects.get(id="ncmec")
    assert (ncmec.clear_disposition, ncmec.clear_scope, ncmec.clear_trigger_actions) == (
        ClearDisposition.NONE,
        ClearScope.THIS_QUEUE,
        [],
    )


def test_export_omits_it_when_off_and_the_default_scope(run_config):
    assert run_config("apply", text=TEXT)[0] == 0
    code, exported, _ = run_config("export")
    assert code == 0
    by_id = queues(exported)
    assert "clearOtherReports" not in by_id["main"]
    assert "clearOtherReports" not in by_id["appeals"]
    assert by_id["spam"]["clearOtherReports"] == {
        "disposition": "IGNORE",
        "triggerActions": ["delete", "coop.manual-review"],
    }
    before = db_snapshot()
    code, out, err = run_config("apply", text=exported)
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("Plan: 0 to create, 0 to change, 0 to delete")
    assert db_snapshot() == before


def test_null_turns_it_off_and_absent_keeps_it(run_config):
    run_config("apply", text=TEXT)
    lines = TEXT.split("\n")
    without = "\n".join(line for line in lines if "clearOtherReports" not in line)
    code, out, err = run_config("apply", text=without)
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("Plan: 0 to create, 0 to change, 0 to delete")
    assert Queue.objects.get(id="spam").clear_disposition == ClearDisposition.IGNORE
    off = "\n".join(
        "    clearOtherReports: null" if "clearOtherReports" in line else line for line in lines
    )
    code, out, err = run_config("apply", text=off)
    assert code == 0, err
    assert "~ queues spam" in out.splitlines()
    spam = Queue.objects.get(id="spam")
    assert (spam.clear_disposition, spam.clear_trigger_actions) == (ClearDisposition.NONE, [])


def test_a_console_save_keeps_it(run_config):
    """The console's queue form does not send clearOtherReports: saving keeps it."""
    run_config("apply", text=TEXT)
    result = save_object("queues", {"id": "spam", "name": "Spam renamed"})
    assert result.ok, result.errors
    spam = Queue.objects.get(id="spam")
    assert spam.name == "Spam renamed"
    assert spam.clear_disposition == ClearDisposition.IGNORE
    assert spam.clear_trigger_actions == ["delete", "coop.manual-review"]


def test_bad_values_are_reported_with_their_paths(run_config):
    before = db_snapshot()
    shape = TEXT.replace(
        "{disposition: IGNORE, triggerActions: [delete, coop.manual-review]}",
        "{disposition: CLOSE, scope: EVERYWHERE, triggerActions: [delete, delete], when: x}",
    )
    code, _, err = run_config("apply", text=shape)
    assert code == 1
    lines = err.splitlines()
    for line in [
        "queues[1].clearOtherReports.when: unknown key",
        "queues[1].clearOtherReports.disposition: must be one of SAME_DECISION, IGNORE",
        "queues[1].clearOtherReports.scope: must be one of THIS_QUEUE, ALL_QUEUES",
        "queues[1].clearOtherReports.triggerActions[1]: duplicate 'delete'",
    ]:
        assert line in lines, line
    missing = TEXT.replace("{disposition: IGNORE, triggerActions:", "{triggerActions:")
    code, _, err = run_config("apply", text=missing)
    assert "queues[1].clearOtherReports.disposition: is required" in err.splitlines()
    assert db_snapshot() == before


def test_trigger_actions_must_exist_and_appeals_queues_are_refused(run_config):
    before = db_snapshot()
    text = TEXT.replace("[delete, coop.manual-review]", "[zap, delete]").replace(
        "  - {id: appeals, name: Appeals, appeals: true, default: true}",
        "  - id: appeals\n    name: Appeals\n    appeals: true\n    default: true\n"
        "    clearOtherReports: {disposition: IGNORE, triggerActions: [delete]}",
    )
    code, _, err = run_config("apply", text=text)
    assert code == 1
    lines = err.splitlines()
    assert "queues[1].clearOtherReports.triggerActions[0]: unknown action 'zap'" in lines
    assert "queues[2].clearOtherReports: appeals queues never clear other reports" in lines
    assert len(lines) == 3  # and the summary line
    assert not Queue.objects.filter(id="spam").exists()
    assert ConfigChange.objects.count() == before["changes"]


@pytest.mark.django_db
def test_the_order_of_reviewers_in_a_file_is_not_a_change():
    from coop.accounts.services import create_user
    from coop.config import apply_document, parse_text

    for email in ("b@example.com", "a@example.com"):
        create_user(email, "Moderator")
    text = "queues:\n  - {id: q, name: Q, reviewers: [%s]}\n"
    document, errors = parse_text(text % "b@example.com, a@example.com")
    assert not errors
    apply_document(document)
    document, _ = parse_text(text % "b@example.com, a@example.com")  # the same file again
    plan = apply_document(document, dry_run=True)
    assert plan.lines()[-1] == "Plan: 0 to create, 0 to change, 0 to delete, 1 unchanged."
