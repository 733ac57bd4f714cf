"""Configuration history (Settings → History): every change, who made it, and what it changed.

Each ConfigChange row keeps the object before and after the change, in the canonical form of
coop.config.kinds. Here they become a one-line summary (stored with the row when it is
written, so lists never read the objects) and a line diff of the two as YAML, the way the
configuration file spells them. Work is linear in the size of the objects and the shown diff
is bounded: a 100,000-entry bank is summarised by counts and lists at most `MAX_LINES` lines.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import yaml

from coop.catalog.credentials import is_credential
from coop.catalog.models import ConfigChange

PAGE_SIZE = 25
MAX_LINES = 400  # diff lines shown for one change
LONG_LIST = 1000  # longer lists are compared as multisets (bank entries), not line by line
SUMMARY_LENGTH = 300
CONTEXT = 2


@dataclass(frozen=True)
class DiffLine:
    sign: str  # "+" added, "-" removed, " " unchanged context, "@" where the next lines are
    text: str


@dataclass(frozen=True)
class Diff:
    lines: list[DiffLine]
    omitted: int  # lines (or long-list entries) left out after MAX_LINES
    aligned: bool  # False: a long list's added and removed entries are listed instead


@dataclass(frozen=True)
class HistoryPage:
    changes: list[ConfigChange]
    next_cursor: int | None  # pass as `before_id` for the next (older) page


NO_USER = 0  # `user_id` filter: changes no Coop user made (`coop config apply`, migrations)

KIND_LABELS = {
    "settings": "Settings",
    "itemTypes": "Item types",
    "policies": "Policies",
    "actions": "Actions",
    "banks": "Banks",
    "rules": "Rules",
    "queues": "Queues",
    "routingRules": "Routing rules",
    "appealRoutingRules": "Appeal routing rules",
    "ncmec": "NCMEC",
    "integrations": "Integrations",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def is_singleton(kind: str, object_id: str) -> bool:
    """`settings` and `ncmec`: one block each, whose id is the kind itself."""
    return kind == object_id


def history_page(
    *,
    kind: str | None = None,
    object_id: str | None = None,
    user_id: int | None = None,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> HistoryPage:
    """The newest changes first, without their contents, filtered by kind (and object) and by
    user (NO_USER: made by no Coop user); keyset pages on the id, so each page is one index
    range scan however far back it is."""
    changes = ConfigChange.objects.select_related("changed_by").defer("data", "before")
    if kind:
        changes = changes.filter(kind=kind)
    if object_id:
        changes = changes.filter(object_id=object_id)
    if user_id == NO_USER:
        changes = changes.filter(changed_by__isnull=True)
    elif user_id is not None:
        changes = changes.filter(changed_by_id=user_id)
    if before_id is not None:
        changes = changes.filter(id__lt=before_id)
    rows = list(changes.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return HistoryPage(rows, rows[-1].pk if more and rows else None)


def summarize(before: Any, after: Any) -> str:
    """What changed, in a line: `created`, `deleted`, or the changed keys, e.g.
    `review.leaseSeconds, appeals.enabled` or `name, values (+3 −1)`."""
    if before is None:
        return "created"
    if after is None:
        return "deleted"
    if not isinstance(before, dict) or not isinstance(after, dict):
        return "changed"
    parts = []
    for key in _keys(before, after):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and not is_credential(new):
            parts += [f"{key}.{sub}" for sub in _keys(old, new) if old.get(sub) != new.get(sub)]
        elif _scalars(old) and _scalars(new):
            added, removed = _multiset_difference(old, new)
            counts = f"+{len(added)} −{len(removed)}" if added or removed else "reordered"
            parts.append(f"{key} ({counts})")
        else:
            parts.append(key)
    text = ", ".join(parts) or "no visible change"
    if len(text) > SUMMARY_LENGTH:
        text = text[: SUMMARY_LENGTH - 2].rsplit(", ", 1)[0] + " …"
    return text


def diff(before: Any, after: Any) -> Diff:
    """Each changed key of the object: its YAML lines before against after, with a little
    context and, before each run of changes, the keys it is under. A long list (bank values,
    hashes, locations) is compared as a multiset instead: its added and removed entries."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    lines: list[DiffLine] = []
    omitted, aligned = 0, True
    for key in sorted({*old, *new}, key=_key_order):
        if key in old and key in new and old[key] == new[key]:
            continue
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        budget = MAX_LINES - len(lines)
        if _long_list(a) or _long_list(b):
            section, left = _list_diff(key, a, b, budget)
            aligned = False
        else:
            section = _aligned(
                _lines({key: a}) if a is not _ABSENT else [],
                _lines({key: b}) if b is not _ABSENT else [],
            )
            left = max(0, len(section) - budget)
        lines += section[:budget]
        omitted += left
    return Diff(lines, omitted, aligned)


_ABSENT = object()


def _long_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) > LONG_LIST


def _aligned(old: list[str], new: list[str]) -> list[DiffLine]:
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(None, old, new)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        # Where the first changed line is (not the context before it).
        _, i1, _, j1, j2 = next(op for op in group if op[0] != "equal")
        path = _path_to(new, j1) if j2 > j1 else _path_to(old, i1)
        if path:
            lines.append(DiffLine("@", " › ".join(path)))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [DiffLine(" ", line) for line in old[i1:i2]]
                continue
            lines += [DiffLine("-", line) for line in old[i1:i2]]
            lines += [DiffLine("+", line) for line in new[j1:j2]]
    return lines


def _list_diff(key: str, old: Any, new: Any, budget: int) -> tuple[list[DiffLine], int]:
    """(lines shown, entries left out): only the shown entries are rendered."""
    old_list = old if isinstance(old, list) else []
    new_list = new if isinstance(new, list) else []
    added, removed = _multiset_difference(old_list, new_list)
    counts = f"{len(removed)} removed, {len(added)} added" if added or removed else "reordered"
    lines = [DiffLine("@", f"{key}: {counts}")]
    shown = 0
    for sign, entries in (("-", removed), ("+", added)):
        for entry in entries:
            if len(lines) >= budget:
                break
            lines += [DiffLine(sign, line) for line in _lines([entry])]
            shown += 1
    return lines[:budget], len(added) + len(removed) - shown


def _key_order(key: Any) -> tuple[int, str]:
    """`id` and `name` first, then the other keys alphabetically: PostgreSQL returns stored
    JSON in its own key order, and before and after must line up however they were written."""
    return ({"id": 0, "name": 1}.get(key, 2), str(key))


def _keys(before: dict, after: dict) -> list[str]:
    """Keys in the order of `after`, then those only `before` had."""
    return [*after, *(key for key in before if key not in after)]


def _scalars(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, dict | list) for v in value)


def _multiset_difference(old: list, new: list) -> tuple[list, list]:
    """(added, removed), each in its list's order, counting repeats."""
    old_count, new_count = Counter(map(_hashable, old)), Counter(map(_hashable, new))
    extra_new, extra_old = new_count - old_count, old_count - new_count
    return _take(new, extra_new), _take(old, extra_old)


def _take(values: list, wanted: Counter) -> list:
    out = []
    for value in values:
        key = _hashable(value)
        if wanted[key] > 0:
            wanted[key] -= 1
            out.append(value)
    return out


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def _path_to(lines: list[str], index: int) -> list[str]:
    """The keys enclosing line `index`: the nearest lines above it with less indentation."""
    if index >= len(lines):
        index = len(lines) - 1
    indent = _indent(lines[index])
    path = []
    for line in reversed(lines[:index]):
        if indent == 0:
            break
        depth = _indent(line)
        if depth < indent and line.strip() not in ("-", ""):
            path.append(line.strip().removeprefix("- ").rstrip(":"))
            indent = depth
    return list(reversed(path))


def _indent(line: str) -> int:
    stripped = line.lstrip(" ")
    # A list item's dash sits at its parent key's indentation, but belongs under that key.
    return len(line) - len(stripped) + (1 if stripped.startswith("- ") else 0)


# --- YAML as the file spells it, one value per line so that changes line up ----------------


class _Dumper(yaml.SafeDumper):
    pass


def _represent_dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    if set(data) == {"secret"} and isinstance(data["secret"], str):
        return dumper.represent_scalar("!secret", data["secret"])
    items = sorted(data.items(), key=lambda item: _key_order(item[0]))
    return dumper.represent_mapping("tag:yaml.org,2002:map", items, flow_style=False)


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=False)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)
_QUOTED_SECRET = re.compile(r"!secret '([A-Za-z_][A-Za-z0-9_]*)'")
ENCRYPTED = "(set in the console, encrypted)"


def _masked(value: Any) -> Any:
    """Console-set credentials as a marker: their ciphertext means nothing to a reader."""
    if isinstance(value, dict):
        if is_credential(value) and "encrypted" in value:
            return ENCRYPTED
        return {key: _masked(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _lines(data: Any) -> list[str]:
    if data is None:
        return []
    text = yaml.dump(
        _masked(data),
        Dumper=_Dumper,
        sort_keys=False,  # _represent_dict orders the keys
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return _QUOTED_SECRET.sub(r"!secret \1", text).splitlines()


__all__ = [
    "KIND_LABELS",
    "NO_USER",
    "Diff",
    "DiffLine",
    "HistoryPage",
    "diff",
    "history_page",
    "is_singleton",
    "kind_label",
    "summarize",
]
