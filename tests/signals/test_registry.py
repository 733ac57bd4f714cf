from __future__ import annotations

from dataclasses import dataclass

from coop.signals.registry import (
    OutputType,
    SignalSpec,
    build_registry,
    default_registry,
)

BUILTIN_IDS = {
    "TEXT_MATCHING_CONTAINS_TEXT",
    "TEXT_MATCHING_NOT_CONTAINS_TEXT",
    "TEXT_MATCHING_CONTAINS_REGEX",
    "TEXT_MATCHING_NOT_CONTAINS_REGEX",
    "TEXT_MATCHING_CONTAINS_VARIANT",
    "TEXT_SIMILARITY_SCORE",
    "GEO_CONTAINED_WITHIN",
    "IMAGE_SIMILARITY_MATCH",
    "IMAGE_SIMILARITY_DOES_NOT_MATCH",
    "USER_STRIKE_VALUE",
    "GOOGLE_CONTENT_SAFETY_API_IMAGE",
    "ZENTROPI_LABELER",
    "HTTP_SIGNAL",
}


def test_builtins_are_declared():
    registry = build_registry(discover=list)
    ids = {spec.id for spec in registry}
    assert ids >= BUILTIN_IDS
    openai = {i for i in ids if i.startswith("OPEN_AI_")}
    assert len([i for i in openai if i.endswith("_TEXT_MODEL")]) == 9
    assert len([i for i in openai if i.endswith("_IMAGE_MODEL")]) == 6
    assert ids == BUILTIN_IDS | openai


def test_third_party_signals_are_disabled_until_configured():
    registry = default_registry()
    for spec in registry:
        third_party = spec.id.startswith(("OPEN_AI_", "GOOGLE_", "ZENTROPI_", "HTTP_"))
        assert spec.enabled is not third_party
        assert bool(spec.disabled_reason) is third_party
    google = registry.get("GOOGLE_CONTENT_SAFETY_API_IMAGE")
    assert google.output is OutputType.ORDERED_ENUM
    assert not google.allowed_in_automated_rules
    assert google.enum_values == ("VERY_LOW", "LOW", "MEDIUM", "HIGH", "VERY_HIGH")
    assert "substring" in registry.get("TEXT_MATCHING_CONTAINS_TEXT").options
    assert registry.get("USER_STRIKE_VALUE").accepts("USER")
    assert registry.get("HTTP_SIGNAL").accepts("FULL_ITEM")


PLUGIN_SPEC = SignalSpec(
    id="ACME_TOXICITY",
    name="Acme toxicity",
    description="A plugin signal",
    input_types=frozenset({"STRING"}),
    output=OutputType.NUMBER,
    cost=10,
    output_range=(0.0, 1.0),
)


@dataclass
class FakeEntryPoint:
    name: str
    target: object

    def load(self) -> object:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def test_plugins_are_discovered_and_broken_ones_skipped(caplog):
    points = [
        FakeEntryPoint("acme", lambda: [PLUGIN_SPEC]),
        FakeEntryPoint("broken", ImportError("no module")),
        FakeEntryPoint("clash", SignalSpec(**{**PLUGIN_SPEC.__dict__, "id": "HTTP_SIGNAL"})),
        FakeEntryPoint("junk", ["not a spec"]),
    ]
    registry = build_registry(discover=lambda: points)
    assert registry.get("ACME_TOXICITY").plugin == "acme"
    assert registry.get("HTTP_SIGNAL").plugin is None  # built-ins cannot be replaced
    assert [r.args for r in caplog.records] == [("broken",), ("clash",), ("junk",)]
