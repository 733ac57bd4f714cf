"""Saving configuration objects one at a time (console forms, API), with validation and history.

These go through the same plan/apply path as the configuration file, so a form can never store
what the file would refuse, and every save gets a new version and a ConfigChange row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from coop.accounts.models import User
from coop.catalog.org_settings import org_settings
from coop.config.document import parse_document
from coop.config.engine import Change, apply_document, config_lock
from coop.config.kinds import BY_KEY
from coop.config.schema import ConfigError

SOURCE_CONSOLE = "console"
ROUTING_KINDS = ("routingRules", "appealRoutingRules")


@dataclass(frozen=True)
class SaveResult:
    """`errors` paths are relative to the object (e.g. `fields[1].type`) for the object's own
    problems; problems of other objects keep their own path (e.g. `rules[id=x].condition`)."""

    errors: list[ConfigError]
    change: Change | None  # None when invalid or nothing changed

    @property
    def ok(self) -> bool:
        return not self.errors


def save_object(
    kind: str,
    data: dict[str, Any],
    *,
    user: User | None = None,
    source: str = SOURCE_CONSOLE,
    dry_run: bool = False,
) -> SaveResult:
    """Create or replace one object of `kind` ("rules", "banks", "settings", ...).

    `data` is spelled as in the configuration file; a policy may give `parent` instead of
    being nested. Nothing is written when there is any error, nor with `dry_run` (the
    console's live validation: the same checks, nothing saved).
    """
    document, prefix, errors = _document(kind, data)
    if errors:
        return SaveResult(errors, None)
    plan = apply_document(document, user=user, source=source, dry_run=dry_run)
    return SaveResult(_relative(plan.errors, prefix), plan.changes[0] if plan.changes else None)


def check_object(
    kind: str, data: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[ConfigError]]:
    """Validate one object exactly as `save_object` would, writing nothing: its canonical
    form (what a backtest of an edited rule evaluates), or the errors."""
    if kind not in BY_KEY or BY_KEY[kind].singleton or kind in ROUTING_KINDS:
        raise ValueError(f"{kind!r} is not a list of independent objects")
    document, prefix, errors = _document(kind, data)
    if errors:
        return None, errors
    plan = apply_document(document, dry_run=True)
    if plan.errors:
        return None, _relative(plan.errors, prefix)
    return next(iter(document.objects[kind].values())), []


def _document(kind: str, data: dict[str, Any]) -> tuple[Any, str, list[ConfigError]]:
    """The one-object document `save_object` applies, the path prefix of the object in it,
    and the parse errors relative to the object."""
    if kind not in BY_KEY:
        raise ValueError(f"unknown kind {kind!r}")
    if BY_KEY[kind].singleton:
        raw, prefix = data, kind
    elif kind in ROUTING_KINDS:
        # The whole ordered list, so the rule keeps its place (a new one goes last).
        rules = _routing_list(kind)
        index = next((i for i, r in enumerate(rules) if r["id"] == data.get("id")), len(rules))
        raw, prefix = [*rules[:index], data, *rules[index + 1 :]], f"{kind}[{index}]"
    else:
        raw, prefix = [data], f"{kind}[0]"
    document, errors = parse_document({kind: raw})
    return document, prefix, _relative(errors, prefix)


def save_settings(block: str, value: dict[str, Any], *, user: User | None = None) -> SaveResult:
    """Replace one block of `settings` (a console settings page), saving the others back as
    they are. The read happens under the configuration lock, so two pages saved at once never
    undo each other's block. Error paths are relative to `settings` (`appeals.callbackUrl`).
    """
    with transaction.atomic():
        config_lock(create=True)
        return save_object("settings", {**org_settings(), block: value}, user=user)


def reorder_routing_rules(
    kind: str, ordered_ids: list[str], *, user: User | None = None, source: str = SOURCE_CONSOLE
) -> SaveResult:
    """Put the routing (or appeal routing) rules in the given order; the first match wins."""
    rules = {r["id"]: r for r in _routing_list(kind)}
    if sorted(ordered_ids) != sorted(rules):
        raise ValueError("ordered_ids must name every rule of the list exactly once")
    document, errors = parse_document({kind: [rules[i] for i in ordered_ids]})
    plan = apply_document(document, user=user, source=source)
    return SaveResult(errors + plan.errors, None)


def delete_object(
    kind: str, object_id: str, *, user: User | None = None, source: str = SOURCE_CONSOLE
) -> SaveResult:
    """Delete one object; refused (with the paths of what still uses it) if others depend on it."""
    if kind not in BY_KEY or kind == "settings":
        raise ValueError(f"objects of kind {kind!r} cannot be deleted")
    plan = apply_document(
        parse_document({})[0], delete=[(kind, object_id)], user=user, source=source
    )
    deleted = [c for c in plan.changes if c.object_id == object_id and c.kind == kind]
    return SaveResult(plan.errors, deleted[0] if deleted and not plan.errors else None)


def _routing_list(kind: str) -> list[dict[str, Any]]:
    """The stored rules in file form and in order."""
    if kind not in ROUTING_KINDS:
        raise ValueError(f"{kind!r} is not a routing rule list")
    return BY_KEY[kind].export(BY_KEY[kind].load())


def _relative(errors: list[ConfigError], prefix: str) -> list[ConfigError]:
    out = []
    for error in errors:
        path = error.path
        if path == prefix:
            path = ""
        elif path.startswith(prefix + "."):
            path = path[len(prefix) + 1 :]
        out.append(ConfigError(path, error.message))
    return out


__all__ = [
    "SaveResult",
    "check_object",
    "delete_object",
    "reorder_routing_rules",
    "save_object",
    "save_settings",
]
