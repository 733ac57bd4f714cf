"""A signal plugin installed as a real distribution: discovered, validated and evaluated."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from coop.rules.conditions import (
    CatalogView,
    ItemTypeInfo,
    RuleKind,
    parse_condition,
    validate_condition,
)
from coop.rules.evaluator import EvaluationContext, Item, Outcome, evaluate, item_schema
from coop.signals.builtin import CompiledBanks, LocalSignalProvider
from coop.signals.registry import build_registry

FIXTURE = Path(__file__).parent / "plugin_fixture" / "coop_acme_signals.py"


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install the fixture plugin the way pip would: module plus *.dist-info on sys.path."""
    shutil.copy(FIXTURE, tmp_path / FIXTURE.name)
    info = tmp_path / "coop_acme_signals-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: coop-acme-signals\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[coop.signals]\nacme = coop_acme_signals:signals\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("coop_acme_signals", None)


class NoBanks:
    def version(self, bank_id):
        raise AssertionError("no bank is used")

    load = version


def test_plugin_is_discovered_validated_and_evaluated(installed):
    registry = build_registry()
    spec = registry.get("ACME_SHOUTING")
    assert spec is not None
    assert spec.plugin == "coop-acme-signals"
    assert registry.implementation("ACME_SHOUTING") is not None

    condition = {
        "input": {"field": "text"},
        "signal": "ACME_SHOUTING",
        "comparator": "GREATER_THAN",
        "threshold": 0.5,
    }
    catalog = CatalogView(
        item_types={"post": ItemTypeInfo("CONTENT", {"text": "STRING"})},
        banks={},
        policies=frozenset(),
        signals=registry,
    )
    assert (
        validate_condition(
            condition, catalog, ["post"], rule_kind=RuleKind.PROACTIVE, automated=True
        )
        == []
    )
    bad = {**condition, "threshold": 2}
    assert [
        str(e)
        for e in validate_condition(
            bad, catalog, ["post"], rule_kind=RuleKind.PROACTIVE, automated=True
        )
    ] == ["condition.threshold: must be between 0 and 1"]

    provider = LocalSignalProvider(registry, CompiledBanks(NoBanks(), lambda user: 0))
    tree, _ = parse_condition(condition)
    schema = item_schema([{"name": "text", "type": "STRING"}])

    def outcome(text):
        item = Item("1", "post", "CONTENT", schema, {"text": text})
        return evaluate(tree, EvaluationContext(item, provider))

    loud = outcome("BUY NOW cheap")
    assert loud.outcome is Outcome.PASSED
    assert loud.to_dict()["matchedValue"]["entry"] == "BUYNOW"
    assert outcome("buy now, cheap").outcome is Outcome.FAILED


def test_declared_only_plugin_signal_errs_when_run(installed, tmp_path):
    entry_points = tmp_path / "coop_acme_signals-1.0.dist-info" / "entry_points.txt"
    entry_points.write_text("[coop.signals]\nacme = coop_acme_signals:SHOUTING\n")
    registry = build_registry()
    assert registry.get("ACME_SHOUTING") is not None
    assert registry.implementation("ACME_SHOUTING") is None
    provider = LocalSignalProvider(registry, CompiledBanks(NoBanks(), lambda user: 0))
    tree, _ = parse_condition(
        {"input": "ALL_TEXT", "signal": "ACME_SHOUTING", "comparator": "EQUALS", "threshold": 1}
    )
    item = Item("1", "post", "CONTENT", item_schema([{"name": "t", "type": "STRING"}]), {"t": "A"})
    result = evaluate(tree, EvaluationContext(item, provider))
    assert result.outcome is Outcome.ERRORED
    assert result.root.error == "signal ACME_SHOUTING has no implementation"
