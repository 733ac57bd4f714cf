"""How item data is shown: each field value becomes a `Value` of one display kind, which the
templates render with autoescaping (and media with the wellness tag). Item data is
attacker-controlled: nothing here marks anything safe; a URL becomes a link only when it is an
absolute http(s) URL."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils.timesince import timesince

from coop.accounts.templatetags.wellness import safe_media_url
from coop.catalog.models import ItemType
from coop.core.media import media_kind
from coop.ingest.models import ItemSubmission


@dataclass
class Value:
    """kind: text, link, image, video, item, number, boolean, datetime, json, map, empty."""

    kind: str
    text: str = ""
    url: str | None = None
    when: datetime | None = None
    entries: list[tuple[str, Value]] = field(default_factory=list)


@dataclass
class Row:
    name: str
    type: str
    values: list[Value]


def _json(raw: Any) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return str(raw)


def investigation_url(item_id: str, type_id: str) -> str | None:
    """The investigation page of an item, once that page exists."""
    try:
        base = reverse("investigation")
    except NoReverseMatch:
        return None
    return f"{base}?{urlencode({'id': item_id, 'type': type_id})}"


MEDIA_TYPES = ("IMAGE", "VIDEO", "MEDIA", "AUDIO", "URL")


def value(field_type: str, raw: Any) -> Value:
    """One scalar value of a field of type `field_type`."""
    if raw is None or raw == "":
        return Value("empty")
    if field_type in MEDIA_TYPES:
        return _media(field_type, raw)
    if field_type == "RELATED_ITEM":
        return _related_item(raw)
    if field_type == "NUMBER" and isinstance(raw, int | float) and not isinstance(raw, bool):
        return Value("number", text=f"{raw:,}" if isinstance(raw, int) else f"{raw:,.6g}")
    if field_type == "BOOLEAN" and isinstance(raw, bool):
        return Value("boolean", text="Yes" if raw else "No")
    if field_type == "DATETIME" and isinstance(raw, str):
        return _datetime(raw)
    if isinstance(raw, str):
        return Value("text", raw)
    return Value("json", _json(raw))


def _media(field_type: str, raw: Any) -> Value:
    url = raw.get("url") if isinstance(raw, dict) else raw
    if not isinstance(url, str):
        return Value("json", _json(raw))
    safe = safe_media_url(url)
    if safe is None:
        return Value("text", url)  # shown, never linked
    if field_type == "MEDIA":
        field_type = "VIDEO" if media_kind(safe) == "VIDEO" else "IMAGE"
    if field_type == "IMAGE":
        return Value("image", url=safe)
    if field_type == "VIDEO":
        return Value("video", url=safe)
    return Value("link", text=url, url=safe)


def _related_item(raw: Any) -> Value:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str | int):
        item_id, type_id = str(raw["id"]), str(raw.get("typeId", ""))
        url = investigation_url(item_id, type_id)
        return Value("item", text=f"{type_id}/{item_id}", url=url)
    return Value("json", _json(raw))


def _datetime(raw: str) -> Value:
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return Value("text", raw)
    return Value("datetime", text=raw, when=when)


def rows(fields: list[dict[str, Any]], data: dict[str, Any]) -> list[Row]:
    """The item's fields in schema order (absent ones left out), then any data the schema
    does not name, as JSON text."""
    out: list[Row] = []
    named = set()
    for spec in fields:
        name, ftype = spec.get("name"), spec.get("type", "STRING")
        named.add(name)
        if name not in data or data[name] is None or data[name] == "":
            continue
        raw = data[name]
        if ftype == "ARRAY":
            items = raw if isinstance(raw, list) else [raw]
            values = [value(spec.get("items", "STRING"), v) for v in items]
        elif ftype == "MAP":
            if isinstance(raw, dict):
                entries = [(str(k), value(spec.get("values", "STRING"), v)) for k, v in raw.items()]
                values = [Value("map", entries=entries)]
            else:
                values = [Value("json", _json(raw))]
        else:
            values = [value(ftype, raw)]
        out.append(Row(str(name), str(ftype), values))
    for name, raw in data.items():
        if name not in named:
            out.append(Row(str(name), "", [Value("json", _json(raw))]))
    return out


THREAD_META_ROLES = ("creatorId", "threadId", "createdAt")


def submission_rows(sub: ItemSubmission, item_types: dict[str, ItemType]) -> list[Row]:
    """A thread message's fields, without those its header shows (author, thread, time)."""
    item_type = item_types.get(sub.item_type_id)
    data = sub.data if isinstance(sub.data, dict) else {}
    roles = (item_type.roles or {}) if item_type else {}
    shown = {roles.get(r) for r in THREAD_META_ROLES} - {None}
    fields = [f for f in (item_type.fields if item_type else []) if f.get("name") not in shown]
    return rows(fields, {k: v for k, v in data.items() if k not in shown})


def summary(sub: ItemSubmission, item_types: dict[str, ItemType], limit: int = 160) -> str:
    """A one-line text of a submission: its first non-empty STRING field."""
    item_type = item_types.get(sub.item_type_id)
    data = sub.data if isinstance(sub.data, dict) else {}
    for spec in item_type.fields if item_type else []:
        raw = data.get(spec.get("name"))
        if spec.get("type") == "STRING" and isinstance(raw, str) and raw.strip():
            text = " ".join(raw.split())
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return ""


def age(when: datetime | None) -> str:
    """“3 hours” (the largest unit only)."""
    if when is None:
        return ""
    return timesince(when, depth=1)


def data_text(raw: Any) -> str:
    """Any JSON value as compact text (matched values, rule inputs)."""
    return raw if isinstance(raw, str) else _json(raw)


TYPE_LABELS = {
    "ACTION": "Action",
    "IGNORE": "Ignore",
    "MOVE": "Move",
    "NCMEC": "Enqueue to NCMEC",
    "NCMEC_REPORT": "Submit to NCMEC",
    "AUTOMATIC_CLOSE": "Automatic close",
    "APPEAL_ACCEPT": "Overturn",
    "APPEAL_REJECT": "Uphold",
    "INVALIDATED": "Reports invalidated",
}


@dataclass
class Names:
    """Display names of actions, policies and queues by id (ids of deleted objects stay)."""

    actions: dict[str, str]
    policies: dict[str, str]
    queues: dict[str, str]

    @classmethod
    def load(cls) -> Names:
        from coop.catalog.models import Action, Policy
        from coop.review.models import Queue

        return cls(
            dict(Action.objects.values_list("id", "name")),
            dict(Policy.objects.values_list("id", "name")),
            dict(Queue.objects.values_list("id", "name")),
        )

    def action(self, action_id: str) -> str:
        return self.actions.get(action_id, action_id)

    def policy(self, policy_id: str) -> str:
        return self.policies.get(policy_id, policy_id)

    def queue(self, queue_id: str) -> str:
        return self.queues.get(queue_id, queue_id)


def component_text(component: dict[str, Any], names: Names) -> str:
    """One decision component in words: “Action Delete on user/u-1 (Spam)”, “Move to X”."""
    kind = str(component.get("type", ""))
    label = TYPE_LABELS.get(kind, kind)
    if kind == "ACTION":
        text = ", ".join(names.action(a) for a in component.get("actionIds", []))
        if component.get("related"):
            ref = component.get("itemRef") or {}
            text += f" on {ref.get('typeId', '')}/{ref.get('id', '')}"
        params = component.get("parameters")
        if params:
            text += " (" + ", ".join(f"{k}={data_text(v)}" for k, v in params.items()) + ")"
        if component.get("clearedBy"):
            text += " — cleared with another job"
        return text
    if kind == "MOVE":
        return f"Move to {names.queue(str(component.get('toQueue', '')))}"
    if kind == "AUTOMATIC_CLOSE" and component.get("reason"):
        return f"{label} ({component['reason']})"
    if kind == "IGNORE" and component.get("clearedBy"):
        return f"{label} — cleared with another job"
    if kind == "NCMEC_REPORT":
        media, messages = component.get("mediaCount", 0), component.get("messageCount", 0)
        return (
            f"{label}: {component.get('incidentType', '')} "
            f"({media} media, {messages} message{'s' if messages != 1 else ''})"
        )
    return label
