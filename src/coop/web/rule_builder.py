"""What the condition builder and the rule pages show about conditions.

`builder_catalog` is the data the builder (static/coop/rules.js) offers: each item type's
fields, the derived inputs, every signal with its input types, output, matching needs and
availability (a signal of an integration that is not configured is listed, disabled, with the
reason the validator would give), the banks and the comparators. `readable` turns a condition
(the file's shape) into a tree of short sentences, and `annotated` puts an evaluation's result
tree (as the execution log keeps it) next to the condition it came from.
"""

from __future__ import annotations

import json
from typing import Any

from coop.catalog.models import Bank, ItemType, Policy
from coop.integrations.config import configured_registry, integrations_config
from coop.rules.conditions import COMPARATORS, Input
from coop.signals.registry import SignalRegistry, SignalSpec, default_registry

OPERATOR_LABELS = {"all": "All of", "any": "Any of", "xor": "Exactly one of"}
COMPARATOR_LABELS = {
    "EQUALS": "=",
    "NOT_EQUAL_TO": "≠",
    "LESS_THAN": "<",
    "LESS_THAN_OR_EQUALS": "≤",
    "GREATER_THAN": ">",
    "GREATER_THAN_OR_EQUALS": "≥",
    "IS_UNAVAILABLE": "is unavailable",
    "IS_NOT_PROVIDED": "is not provided",
}
# The derived inputs of proactive rules (RELEVANT_POLICY and SOURCE are routing only), with
# the value type each gives; AUTHOR and ITEM depend on the item type (the builder knows how).
DERIVED_INPUTS = [
    (Input.ALL_TEXT, "All text", "STRING"),
    (Input.ANY_IMAGE, "Any image", "IMAGE"),
    (Input.ANY_VIDEO, "Any video", "VIDEO"),
    (Input.ANY_GEOHASH, "Any geohash", "GEOHASH"),
    (Input.AUTHOR, "Author (user)", "USER"),
    (Input.ITEM, "The item itself", "ITEM"),
    (Input.FULL_ITEM, "The full item", "FULL_ITEM"),
]
INPUT_LABELS = {str(value): label for value, label, _ in DERIVED_INPUTS}
MAX_SHOWN_VALUES = 10


def current_registry() -> SignalRegistry:
    """The signals as the validator sees them: built-ins and plugins, with the configured
    integrations' signals enabled."""
    return configured_registry(default_registry(), integrations_config())


def _signal(spec: SignalSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "name": spec.name,
        "description": spec.description,
        "inputTypes": sorted(spec.input_types),
        "output": str(spec.output),
        "enumValues": list(spec.enum_values),
        "range": list(spec.output_range) if spec.output_range else None,
        "needsValues": spec.needs_values,
        "valueKind": str(spec.value_kind) if spec.value_kind else None,
        "bankKinds": sorted(spec.bank_kinds),
        "subcategoryMode": str(spec.subcategory_mode),
        "subcategories": list(spec.subcategories),
        "subcategoryOutputs": {k: str(v) for k, v in spec.subcategory_outputs},
        "automated": spec.allowed_in_automated_rules,
        "enabled": spec.enabled,
        "disabledReason": spec.disabled_reason,
        "options": sorted(spec.options),
        "recommended": (
            dict(zip(("precision", "recall"), spec.recommended_thresholds, strict=True))
            if spec.recommended_thresholds
            else None
        ),
    }


def builder_catalog(registry: SignalRegistry | None = None) -> dict[str, Any]:
    registry = registry or current_registry()
    item_types = []
    for t in ItemType.objects.order_by("name"):
        fields = [
            {
                "name": f["name"],
                "type": f.get("items") or f.get("values") or f["type"],
                "container": f["type"] if f["type"] in ("ARRAY", "MAP") else None,
            }
            for f in t.fields
        ]
        item_types.append(
            {"id": t.id, "name": t.name, "kind": t.kind, "fields": fields, "roles": t.roles}
        )
    return {
        "itemTypes": item_types,
        "inputs": [
            {"value": str(value), "label": label, "type": kind}
            for value, label, kind in DERIVED_INPUTS
        ],
        "signals": [_signal(spec) for spec in sorted(registry, key=lambda s: (s.cost, s.name))],
        "banks": list(Bank.objects.order_by("name").values("id", "name", "kind")),
        "comparators": [{"value": c, "label": COMPARATOR_LABELS[c]} for c in COMPARATORS],
    }


def _input_label(source: Any) -> str:
    if isinstance(source, dict) and "field" in source:
        return f"field {source['field']}"
    return INPUT_LABELS.get(str(source), str(source))


def _short(values: list[Any]) -> str:
    shown = [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values]
    text = ", ".join(f"“{v}”" for v in shown[:MAX_SHOWN_VALUES])
    more = len(shown) - MAX_SHOWN_VALUES
    return text + (f" and {more} more" if more > 0 else "")


class Names:
    """Display names of signals, banks and policies, read once per page."""

    def __init__(self, registry: SignalRegistry | None = None) -> None:
        registry = registry or current_registry()
        self.signals = {spec.id: spec.name for spec in registry}
        self.banks = dict(Bank.objects.values_list("id", "name"))
        self.policies = dict(Policy.objects.values_list("id", "name"))


def leaf_sentence(leaf: dict[str, Any], names: Names) -> str:
    """E.g. `field text · Contains text · banks Scam words` or `Author (user) · User
    strikes ≥ 3`."""
    parts = [_input_label(leaf.get("input"))]
    signal = leaf.get("signal")
    comparator = leaf.get("comparator")
    if signal:
        what = names.signals.get(signal, signal)
        if leaf.get("subcategory"):
            what += f" ({leaf['subcategory']})"
        if leaf.get("substring"):
            what += ", substrings too"
        parts.append(what)
    if leaf.get("values"):
        parts.append("values " + _short(list(leaf["values"])))
    if leaf.get("banks"):
        parts.append("banks " + ", ".join(names.banks.get(b, b) for b in leaf["banks"]))
    if comparator:
        threshold = leaf.get("threshold")
        text = COMPARATOR_LABELS.get(comparator, comparator)
        if "threshold" in leaf:
            shown = json.dumps(threshold, ensure_ascii=False)
            text += " " + (shown if not isinstance(threshold, str) else threshold)
        if leaf.get("values") or leaf.get("banks"):
            parts.append(text)
        else:  # reads on: "User strikes ≥ 3", "field score > 0.5"
            parts[-1] += " " + text
    return " · ".join(parts)


def readable(condition: Any, names: Names) -> dict[str, Any]:
    """The condition as nested {label, children} groups and {sentence} leaves."""
    if isinstance(condition, dict):
        for op in OPERATOR_LABELS:
            if op in condition and isinstance(condition[op], list):
                return {
                    "op": op,
                    "label": OPERATOR_LABELS[op],
                    "children": [readable(child, names) for child in condition[op]],
                }
        return {"sentence": leaf_sentence(condition, names)}
    return {"sentence": json.dumps(condition)}


def annotated(result: dict[str, Any], condition: Any, names: Names) -> dict[str, Any]:
    """The result tree with each leaf's sentence: from the condition when it is the one that
    was evaluated (same shape), else from what the log kept (input and signal)."""
    if "op" in result:
        children = condition.get(result["op"]) if isinstance(condition, dict) else None
        parts = result.get("children") or []
        if result.get("skipped") and isinstance(children, list):
            # A set left out once its parent was decided: its conditions, all skipped.
            parts = [_skipped(child) for child in children]
        same = isinstance(children, list) and len(children) == len(parts)
        return {
            **result,
            "label": OPERATOR_LABELS.get(result["op"], result["op"]),
            "children": [
                annotated(child, children[i] if same else None, names)
                for i, child in enumerate(parts)
            ],
        }
    leaf = condition if isinstance(condition, dict) and "input" in condition else result
    shown = {"sentence": leaf_sentence(leaf, names)}
    if "score" in result:
        shown["score_text"] = _as_text(result["score"])
    matched = result.get("matchedValue")
    if isinstance(matched, dict):
        shown["matched_text"] = _as_text(matched.get("value"))
        if "entry" in matched:
            shown["entry_text"] = _as_text(matched["entry"])
    return {**result, **shown}


def _skipped(condition: Any) -> dict[str, Any]:
    if isinstance(condition, dict):
        for op in OPERATOR_LABELS:
            if op in condition:
                return {"op": op, "skipped": True}
    return {"skipped": True}


def _as_text(value: Any) -> str:
    """A logged value as the file would spell it (true, {"id": …}), strings as they are."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
