"""Hidden fields (item type `hiddenFields`, rules.md): never shown to reviewers, in any section
of any page. The ONE helper every renderer's data goes through: the job's item, the thread
around it (which includes the item itself), the author and the author's recent items, the
appeal's actioned item, and the values rule hits matched."""

from __future__ import annotations

import copy
from typing import Any

from coop.catalog.models import ItemType
from coop.ingest.models import ItemSubmission


def hidden_fields(item_type: ItemType | None) -> set[str]:
    return set(item_type.hidden_fields or []) if item_type is not None else set()


def visible_data(data: Any, item_type: ItemType | None) -> dict[str, Any]:
    """`data` without the item type's hidden fields ({} for anything but an object)."""
    if not isinstance(data, dict):
        return {}
    hidden = hidden_fields(item_type)
    return {k: v for k, v in data.items() if k not in hidden} if hidden else data


def visible_fields(item_type: ItemType | None) -> list[dict[str, Any]]:
    """The item type's schema fields without the hidden ones."""
    if item_type is None:
        return []
    hidden = hidden_fields(item_type)
    return [f for f in item_type.fields if f.get("name") not in hidden]


def redacted(sub: ItemSubmission, item_types: dict[str, ItemType]) -> ItemSubmission:
    """A copy of `sub` for display, its data without hidden fields (never saved)."""
    item_type = item_types.get(sub.item_type_id)
    if not hidden_fields(item_type):
        return sub
    shown = copy.copy(sub)
    shown.data = visible_data(sub.data, item_type)
    return shown


def redacted_matches(
    matched: list[dict[str, Any]], item_type: ItemType | None, data: Any
) -> list[dict[str, Any]]:
    """Rule-hit leaves without the values of hidden fields: a leaf on a hidden field keeps no
    matched value, and a leaf on a derived input (e.g. all the text) keeps none that comes
    from a hidden field's value."""
    hidden = hidden_fields(item_type)
    if not hidden:
        return matched
    secrets = [_text(data.get(name)) for name in hidden if isinstance(data, dict) and name in data]
    secrets = [s for s in secrets if s]
    out = []
    for leaf in matched:
        leaf = dict(leaf)
        source = leaf.get("input")
        on_hidden = isinstance(source, dict) and source.get("field") in hidden
        if "matchedValue" in leaf:
            value = _text(leaf["matchedValue"])
            if on_hidden or any(value and (value in s or s in value) for s in secrets):
                del leaf["matchedValue"]
        out.append(leaf)
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)
