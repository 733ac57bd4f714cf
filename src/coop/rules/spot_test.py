"""Spot test (rules.md): one rule, saved or as being edited, evaluated on one item.

The item is the latest stored submission of an item given by type and id, or data pasted as
JSON and validated against the item type exactly as ingest would. The condition runs through
the evaluator in-process with the worker's signal provider, remote signals included, with the
same timeouts and time budget as at evaluation time. Nothing is logged, no action runs, and
nothing about the rule or the item is written (an integration's health on Settings →
Integrations still records the real call it made).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coop.catalog.item_data import ItemDataError, schemas_for
from coop.catalog.models import ItemType
from coop.core.items import ItemRef
from coop.ingest.store import latest_for
from coop.integrations.calls import evaluation_scope
from coop.rules.conditions import ConditionError, RuleKind, parse_condition, validate_condition
from coop.rules.evaluator import EvaluationContext, Item, compile_condition, evaluate, item_schema
from coop.rules.rulebook import current_rulebook, database_catalog, signal_provider

# Pasted item data: a post with its images is a few kilobytes; this bounds parsing work.
MAX_JSON_CHARS = 256 * 1024
MAX_ID_LENGTH = 255


class SpotTestError(ValueError):
    """Input that names no usable item. `field` is the form field at fault (`item_type`,
    `item_id` or `item_json`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SpotItem:
    item: Item
    submission_id: int | None  # None for pasted data
    submitted_at: datetime | None


@dataclass(frozen=True)
class SpotResult:
    """`tree` is the condition tree with each node's outcome, as the execution log keeps it;
    `problems` (then no tree) say why the condition cannot run under the configuration."""

    outcome: str | None
    tree: dict[str, Any] | None
    problems: list[ConditionError]
    item: SpotItem

    @property
    def passed(self) -> bool:
        return self.outcome == "PASSED"


def _item_type(type_id: str) -> ItemType:
    item_type = ItemType.objects.filter(pk=type_id).first()
    if item_type is None:
        raise SpotTestError("item_type", f"no item type {type_id!r}")
    return item_type


def latest_item(type_id: str, item_id: str) -> SpotItem:
    """The item's latest stored submission."""
    item_type = _item_type(type_id)
    item_id = item_id.strip()
    if not item_id or len(item_id) > MAX_ID_LENGTH:
        raise SpotTestError("item_id", f"give an item id (at most {MAX_ID_LENGTH} characters)")
    submission = latest_for(ItemRef(item_id, type_id))
    if submission is None:
        raise SpotTestError(
            "item_id", f"Coop has no submission of item {item_id!r} of type {item_type.name}"
        )
    creator = None
    if submission.creator_id and submission.creator_type_id:
        creator = ItemRef(submission.creator_id, submission.creator_type_id)
    item = Item(
        item_id, type_id, item_type.kind, item_schema(item_type.fields), submission.data, creator
    )
    return SpotItem(item, submission.pk, submission.submitted_at)


def pasted_item(type_id: str, text: str, item_id: str = "") -> SpotItem:
    """Item data pasted as a JSON object (the API's `data`), coerced and checked against the
    item type as ingest does; an error names the field (a JSON pointer below `data`)."""
    item_type = _item_type(type_id)
    if len(text) > MAX_JSON_CHARS:
        raise SpotTestError("item_json", f"at most {MAX_JSON_CHARS // 1024} KB of JSON")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpotTestError("item_json", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise SpotTestError("item_json", "nested too deeply") from None
    schema = schemas_for([item_type])[item_type.id]
    try:
        coerced = schema.validate(data)
    except ItemDataError as exc:
        where = f"/data{exc.pointer}" if exc.path else "/data"
        raise SpotTestError("item_json", f"{where}: {exc.message}") from None
    roles = schema.roles(coerced)
    creator = None
    if roles.creator_id and roles.creator_type_id:
        creator = ItemRef(roles.creator_id, roles.creator_type_id)
    item_id = item_id.strip() or "spot-test"
    if len(item_id) > MAX_ID_LENGTH:
        raise SpotTestError("item_id", f"at most {MAX_ID_LENGTH} characters")
    item = Item(item_id, type_id, item_type.kind, item_schema(item_type.fields), coerced, creator)
    return SpotItem(item, None, None)


def spot_test(
    condition: object, item_types: list[str], spot: SpotItem, *, automated: bool
) -> SpotResult:
    """Evaluate `condition` (the file's shape) on the item, for a rule of `item_types`
    (`automated`: the rule has actions). The item's type must be one of the rule's."""
    if spot.item.type_id not in item_types:
        raise SpotTestError(
            "item_type", f"the rule is not evaluated on items of type {spot.item.type_id!r}"
        )
    current_rulebook()  # brings the shared signal provider up to the configuration in force
    provider = signal_provider()
    catalog = database_catalog(list(ItemType.objects.all()), provider.registry)
    problems = validate_condition(
        condition, catalog, item_types, rule_kind=RuleKind.PROACTIVE, automated=automated
    )
    if problems:
        return SpotResult(None, None, problems, spot)
    tree, _ = parse_condition(condition)
    assert tree is not None  # validated above
    with evaluation_scope():
        result = evaluate(compile_condition(tree, provider), EvaluationContext(spot.item, provider))
    return SpotResult(result.outcome.value, result.to_dict(), [], spot)


__all__ = ["SpotItem", "SpotResult", "SpotTestError", "latest_item", "pasted_item", "spot_test"]
