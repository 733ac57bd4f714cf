"""The configuration file as canonical objects, with the path of each for error messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coop.config import schema
from coop.config.kinds import KINDS, Canonical
from coop.config.schema import ConfigError, Errors

FILE_VERSION = 1
TOP_LEVEL = ("version", *(kind.key for kind in KINDS))
_LIST_CHECKS: dict[str, schema.Check] = {
    "itemTypes": schema.item_type,
    "actions": schema.action,
    "banks": schema.bank,
    "rules": schema.nested(schema.RULE),
    "queues": schema.nested(schema.QUEUE),
    "routingRules": schema.nested(schema.ROUTING_RULE),
    "appealRoutingRules": schema.nested(schema.ROUTING_RULE),
}
# In the file a policy's parent is given by nesting it in `children` (or by `parent` at the top).
_POLICY_NESTED = {k: v for k, v in schema.POLICY.items() if k != "parent"}


@dataclass
class Document:
    """Objects named by the file, kind key -> id -> canonical dict, in file order.

    A kind absent from the file has no entry (as opposed to an empty list).
    """

    objects: dict[str, dict[str, Canonical]] = field(default_factory=dict)
    paths: dict[tuple[str, str], str] = field(default_factory=dict)


def parse_document(raw: Any) -> tuple[Document, Errors]:
    doc, errors = Document(), []
    if raw is None:
        return doc, errors
    if not isinstance(raw, dict):
        return doc, [ConfigError("", "the file must be a mapping of top-level keys")]
    for key in raw:
        if key not in TOP_LEVEL:
            errors.append(ConfigError(str(key), f"unknown key; use {', '.join(TOP_LEVEL)}"))
    if "version" in raw and raw["version"] != FILE_VERSION:
        errors.append(ConfigError("version", f"must be {FILE_VERSION}"))
    _parse_singletons(doc, errors, raw)
    if "policies" in raw:
        doc.objects["policies"] = {}
        items = _list(raw["policies"], "policies", errors)
        for i, item in enumerate(items):
            _policy(doc, errors, item, f"policies[{i}]", parent=None)
    for key, check in _LIST_CHECKS.items():
        if key in raw:
            doc.objects[key] = {}
            _parse_list(doc, errors, key, check, _list(raw[key], key, errors))
    _check_default_queues(raw.get("queues"), errors)
    return doc, errors


def _parse_singletons(doc: Document, errors: Errors, raw: dict) -> None:
    for key in ("settings", "ncmec", "integrations"):
        if key in raw:
            data = schema.obj(raw[key], key, errors, getattr(schema, key.upper()))
            if data is not None:
                _add(doc, errors, key, key, data, key)


def _parse_list(doc: Document, errors: Errors, key: str, check: schema.Check, items: list) -> None:
    for i, item in enumerate(items):
        path = f"{key}[{i}]"
        data = check(item, path, errors)
        if data is None or data.get("id") is None:
            continue
        if key in ("routingRules", "appealRoutingRules"):
            data["position"] = i
            other = "appealRoutingRules" if key == "routingRules" else "routingRules"
            if (other, data["id"]) in doc.paths:
                errors.append(
                    ConfigError(f"{path}.id", f"duplicate id {data['id']!r} (also {other})")
                )
                continue
        _add(doc, errors, key, data["id"], data, path)


def _list(raw: Any, path: str, errors: Errors) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(ConfigError(path, "must be a list"))
        return []
    return raw


def _add(
    doc: Document, errors: Errors, kind: str, object_id: str, data: Canonical, path: str
) -> None:
    objects = doc.objects.setdefault(kind, {})
    if object_id in objects:
        first = doc.paths[(kind, object_id)]
        errors.append(ConfigError(f"{path}.id", f"duplicate id {object_id!r} (also {first})"))
        return
    objects[object_id] = data
    doc.paths[(kind, object_id)] = path


def _policy(doc: Document, errors: Errors, raw: Any, path: str, parent: str | None) -> None:
    if not isinstance(raw, dict):
        errors.append(ConfigError(path, "must be a mapping"))
        return
    fields = {k: v for k, v in raw.items() if k != "children"}
    spec = _POLICY_NESTED if parent else schema.POLICY
    data = schema.obj(fields, path, errors, spec)
    if data is None or data.get("id") is None:
        return
    if parent:
        data["parent"] = parent
    data = {key: data.get(key) for key in schema.POLICY}  # the stored key order
    _add(doc, errors, "policies", data["id"], data, path)
    for i, child in enumerate(_list(raw.get("children"), f"{path}.children", errors)):
        _policy(doc, errors, child, f"{path}.children[{i}]", parent=data["id"])


def _check_default_queues(raw: Any, errors: Errors) -> None:
    """At most one default queue and one default appeals queue in the file."""
    seen: dict[bool, int] = {}
    for i, queue in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(queue, dict) or queue.get("default") is not True:
            continue
        appeals = queue.get("appeals") is True
        if appeals in seen:
            what = "appeals queue" if appeals else "queue"
            errors.append(
                ConfigError(
                    f"queues[{i}].default",
                    f"only one default {what} (also queues[{seen[appeals]}])",
                )
            )
        seen.setdefault(appeals, i)
