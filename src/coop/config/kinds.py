"""Model ⇄ canonical dict, one class per kind of configuration object.

The canonical dict is the file's spelling with every default filled in (schema.py). Planner,
applier, exporter and the ConfigChange snapshots all go through these classes, so a value can
only be converted in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone

from coop.accounts.models import User
from coop.catalog.models import Action, Bank, BankEntry, ItemType, OrgSettings, Policy
from coop.config import schema
from coop.core.field_types import FieldRole
from coop.review.models import ClearDisposition, ClearScope, Queue
from coop.rules.models import RoutingKind, RoutingRule, Rule

Canonical = dict[str, Any]


def _normalize(check: schema.Check, raw: dict) -> Canonical:
    """Stored data was validated when written; normalizing again fills defaults added since."""
    return check(raw, "", [])


class Kind:
    """One list of the configuration file (`itemTypes`, `rules`, ...)."""

    key: ClassVar[str]
    model: ClassVar[type[models.Model]]
    singleton: ClassVar[bool] = False

    def queryset(self) -> models.QuerySet:
        return self.model.objects.all()

    def load(self) -> dict[str, Canonical]:
        """The database state, id -> canonical dict."""
        return {o.pk: self.to_dict(o) for o in self.queryset()}

    def versions(self) -> dict[str, int]:
        return dict(self.queryset().values_list("pk", "version"))

    def to_dict(self, o: Any) -> Canonical:
        raise NotImplementedError

    def assign(self, o: Any, data: Canonical) -> None:
        raise NotImplementedError

    def write(self, data: Canonical, version: int) -> None:
        o = self.model.objects.filter(pk=data["id"]).first() or self.model(pk=data["id"])
        self.assign(o, data)
        o.version = version
        o.updated_at = timezone.now()
        o.save()
        self.after_save(o, data)

    def after_save(self, o: Any, data: Canonical) -> None:
        """Writes to related rows (bank entries, reviewers)."""

    def delete(self, object_id: str) -> None:
        self.model.objects.filter(pk=object_id).delete()

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        return [schema.compact(data, self.spec()) for data in state.values()]

    def spec(self) -> schema.Spec:
        raise NotImplementedError


class ItemTypes(Kind):
    key = "itemTypes"
    model = ItemType

    def spec(self) -> schema.Spec:
        return schema.ITEM_TYPE

    def to_dict(self, o: ItemType) -> Canonical:
        raw = {"id": o.id, "name": o.name, "description": o.description, "kind": o.kind}
        return _normalize(
            schema.item_type,
            {**raw, "fields": o.fields, "roles": o.roles, "hiddenFields": o.hidden_fields},
        )

    def assign(self, o: ItemType, data: Canonical) -> None:
        o.name, o.description, o.kind = data["name"], data["description"], data["kind"]
        o.fields, o.roles, o.hidden_fields = data["fields"], data["roles"], data["hiddenFields"]

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        out = []
        for data in state.values():
            item = schema.compact(data, schema.ITEM_TYPE)
            item["fields"] = [schema.compact(f, schema.FIELD) for f in data["fields"]]
            if "roles" in item:
                item["roles"] = {str(r): item["roles"][r] for r in FieldRole if r in item["roles"]}
            out.append(item)
        return out


class Policies(Kind):
    """Stored flat with `parent`; the file nests children instead."""

    key = "policies"
    model = Policy

    def spec(self) -> schema.Spec:
        return schema.POLICY

    def to_dict(self, o: Policy) -> Canonical:
        return {
            "id": o.id,
            "name": o.name,
            "parent": o.parent_id,
            "penalty": o.penalty,
            "strikes": o.strikes,
            "text": o.text,
            "guidelines": o.guidelines,
        }

    def assign(self, o: Policy, data: Canonical) -> None:
        o.name, o.parent_id, o.penalty = data["name"], data["parent"], data["penalty"]
        o.strikes, o.text, o.guidelines = data["strikes"], data["text"], data["guidelines"]

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        nodes = {pid: schema.compact(data, schema.POLICY) for pid, data in state.items()}
        roots = []
        for node in nodes.values():
            parent = node.pop("parent", None)
            if parent in nodes:
                nodes[parent].setdefault("children", []).append(node)
            else:
                roots.append(node)
        return roots


class Actions(Kind):
    """Custom actions only: the built-in `coop.*` actions are neither exported nor changed."""

    key = "actions"
    model = Action

    def spec(self) -> schema.Spec:
        return schema.ACTION

    def queryset(self) -> models.QuerySet:
        return Action.objects.filter(builtin=False)

    def to_dict(self, o: Action) -> Canonical:
        return _normalize(
            schema.action,
            {
                "id": o.id,
                "name": o.name,
                "description": o.description,
                "callbackUrl": o.callback_url,
                "headers": o.headers,
                "body": o.body,
                "itemTypes": list(o.item_types),
                "appliesStrikes": o.applies_strikes,
                "parameters": o.parameters,
            },
        )

    def assign(self, o: Action, data: Canonical) -> None:
        o.name, o.description, o.callback_url = (
            data["name"],
            data["description"],
            data["callbackUrl"],
        )
        o.headers, o.body, o.item_types = data["headers"], data["body"], data["itemTypes"]
        o.applies_strikes, o.parameters = data["appliesStrikes"], data["parameters"]
        o.builtin = False

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        out = []
        for data in state.values():
            item = schema.compact(data, schema.ACTION)
            if "parameters" in item:
                item["parameters"] = [
                    schema.compact(p, schema.PARAMETER) for p in data["parameters"]
                ]
            out.append(item)
        return out


class Banks(Kind):
    key = "banks"
    model = Bank

    def spec(self) -> schema.Spec:
        return schema.BANK_COMMON

    def queryset(self) -> models.QuerySet:
        return Bank.objects.prefetch_related("entries")

    def to_dict(self, o: Bank) -> Canonical:
        entries = list(o.entries.all())
        raw: Canonical = {"id": o.id, "name": o.name, "description": o.description, "kind": o.kind}
        if o.kind == "LOCATION":
            raw["locations"] = [e.location for e in entries]
        elif o.kind == "HASH":
            raw["signalType"] = o.signal_type or "pdq"
            raw["threshold"] = o.distance_threshold
            raw["enabled"] = o.enabled
            raw["hashes"] = [e.value for e in entries]
            if o.distance_threshold is None:
                del raw["threshold"]
        else:
            raw["values"] = [e.value for e in entries]
        return _normalize(schema.bank, raw)

    def assign(self, o: Bank, data: Canonical) -> None:
        o.name, o.description, o.kind = data["name"], data["description"], data["kind"]
        o.signal_type = data.get("signalType", "")
        o.distance_threshold = data.get("threshold")
        o.enabled = data.get("enabled", True)

    def after_save(self, o: Bank, data: Canonical) -> None:
        o.entries.all().delete()
        if data["kind"] == "LOCATION":
            rows = [
                BankEntry(bank=o, position=i, location=loc)
                for i, loc in enumerate(data["locations"])
            ]
        else:
            values = data["hashes"] if data["kind"] == "HASH" else data["values"]
            rows = [BankEntry(bank=o, position=i, value=v) for i, v in enumerate(values)]
        BankEntry.objects.bulk_create(rows, batch_size=5000)

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        out = []
        for data in state.values():
            item = schema.compact(data, schema.BANK_BY_KIND[data["kind"]])
            if "locations" in item:
                item["locations"] = [schema.ordered_location(loc) for loc in item["locations"]]
            out.append(item)
        return out


class Rules(Kind):
    key = "rules"
    model = Rule

    def spec(self) -> schema.Spec:
        return schema.RULE

    def to_dict(self, o: Rule) -> Canonical:
        return {
            "id": o.id,
            "name": o.name,
            "description": o.description,
            "status": o.status,
            "itemTypes": list(o.item_types),
            "policies": list(o.policies),
            "actions": [
                {"id": a["id"], "parameters": a.get("parameters") or {}} for a in o.actions
            ],
            "tags": list(o.tags),
            "expiresAt": schema.format_datetime(o.expires_at) if o.expires_at else None,
            "maxDailyActions": o.max_daily_actions,
            "condition": o.condition,
        }

    def assign(self, o: Rule, data: Canonical) -> None:
        o.name, o.description, o.status = data["name"], data["description"], data["status"]
        o.item_types, o.policies, o.tags = data["itemTypes"], data["policies"], data["tags"]
        o.actions, o.condition = data["actions"], data["condition"]
        o.expires_at = datetime.fromisoformat(data["expiresAt"]) if data["expiresAt"] else None
        o.max_daily_actions = data["maxDailyActions"]

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        out = []
        for data in state.values():
            item = schema.compact(data, schema.RULE)
            if "actions" in item:
                item["actions"] = schema.compact_action_refs(data["actions"])
            item["condition"] = schema.ordered_condition(item["condition"])
            out.append(item)
        return out


class Queues(Kind):
    key = "queues"
    model = Queue

    def spec(self) -> schema.Spec:
        return schema.QUEUE

    def queryset(self) -> models.QuerySet:
        return Queue.objects.prefetch_related("reviewers")

    def to_dict(self, o: Queue) -> Canonical:
        return {
            "id": o.id,
            "name": o.name,
            "description": o.description,
            "default": o.is_default,
            "appeals": o.is_appeals,
            "order": o.order,
            "hiddenActions": list(o.hidden_actions),
            "reviewers": sorted(u.email.lower() for u in o.reviewers.all()),
            "autoCloseDeleted": o.auto_close_deleted,
            "clearOtherReports": (
                {
                    "disposition": o.clear_disposition,
                    "scope": o.clear_scope,
                    "triggerActions": list(o.clear_trigger_actions),
                }
                if o.clear_disposition
                else None
            ),
        }

    def assign(self, o: Queue, data: Canonical) -> None:
        o.name, o.description, o.order = data["name"], data["description"], data["order"]
        o.is_default, o.is_appeals = data["default"], data["appeals"]
        o.hidden_actions, o.auto_close_deleted = data["hiddenActions"], data["autoCloseDeleted"]
        clear = data.get("clearOtherReports") or {
            "disposition": ClearDisposition.NONE,
            "scope": ClearScope.THIS_QUEUE,
            "triggerActions": [],
        }
        o.clear_disposition, o.clear_scope = clear["disposition"], clear["scope"]
        o.clear_trigger_actions = clear["triggerActions"]

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        out = []
        for data in state.values():
            item = schema.compact(data, schema.QUEUE)
            clear = item.pop("clearOtherReports", None)
            if clear:  # off: left out, so files that never used it export as before
                item["clearOtherReports"] = schema.compact(clear, schema.CLEAR_OTHER_REPORTS)
            out.append(item)
        return out

    def after_save(self, o: Queue, data: Canonical) -> None:
        o.reviewers.set(User.objects.filter(email__in=data["reviewers"]))


class RoutingRules(Kind):
    """`position` is the index in the file's list; the export writes the list in that order."""

    key = "routingRules"
    model = RoutingRule
    routing_kind = RoutingKind.ROUTING

    def spec(self) -> schema.Spec:
        return schema.ROUTING_RULE

    def queryset(self) -> models.QuerySet:
        return RoutingRule.objects.filter(kind=self.routing_kind).order_by("position")

    def to_dict(self, o: RoutingRule) -> Canonical:
        return {
            "id": o.id,
            "name": o.name,
            "description": o.description,
            "itemTypes": list(o.item_types),
            "queue": o.queue_id,
            "condition": o.condition,
            "position": o.position,
        }

    def assign(self, o: RoutingRule, data: Canonical) -> None:
        o.name, o.description, o.kind = data["name"], data["description"], self.routing_kind
        o.item_types, o.queue_id = data["itemTypes"], data["queue"]
        o.condition, o.position = data["condition"], data["position"]

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        ordered = sorted(state.values(), key=lambda d: d["position"])
        out = []
        for data in ordered:
            item = schema.compact(data, schema.ROUTING_RULE)
            del item["position"]
            item["condition"] = schema.ordered_condition(item["condition"])
            out.append(item)
        return out


class AppealRoutingRules(RoutingRules):
    key = "appealRoutingRules"
    routing_kind = RoutingKind.APPEAL


class Singleton(Kind):
    """`settings` and `ncmec`: one block each, stored in OrgSettings.data under their key."""

    model = OrgSettings
    singleton = True

    def load(self) -> dict[str, Canonical]:
        row = OrgSettings.objects.filter(pk=1).first()
        stored = row.data.get(self.key) if row else None
        if stored is None:
            return {}
        return {self.key: _normalize(schema.nested(self.spec()), stored)}

    def versions(self) -> dict[str, int]:
        """One row holds both blocks, so their versions come from their ConfigChange history."""
        return {}

    def write(self, data: Canonical, version: int) -> None:
        row = OrgSettings.load()
        row.data = {**row.data, self.key: data}
        row.version = max(row.version + 1, version)
        row.updated_at = timezone.now()
        row.save()

    def delete(self, object_id: str) -> None:
        row = OrgSettings.load()
        row.data = {k: v for k, v in row.data.items() if k != self.key}
        row.version += 1
        row.save()

    def export(self, state: dict[str, Canonical]) -> Any:
        return state.get(self.key)


class Settings(Singleton):
    """Never deleted; a database that never stored settings has the defaults."""

    key = "settings"

    def spec(self) -> schema.Spec:
        return schema.SETTINGS

    def load(self) -> dict[str, Canonical]:
        return super().load() or {self.key: _normalize(schema.nested(schema.SETTINGS), {})}

    def export(self, state: dict[str, Canonical]) -> Any:
        data = state[self.key]
        strikes = data["strikes"]
        thresholds = [
            {**t, "actions": schema.compact_action_refs(t["actions"])}
            for t in strikes["thresholds"]
        ]
        return {**data, "strikes": {**strikes, "thresholds": thresholds}}


class Ncmec(Singleton):
    key = "ncmec"

    def spec(self) -> schema.Spec:
        return schema.NCMEC


# Dependency order: objects are written in this order and deleted in the reverse one.
KINDS: tuple[Kind, ...] = (
    Settings(),
    ItemTypes(),
    Policies(),
    Actions(),
    Banks(),
    Rules(),
    Queues(),
    RoutingRules(),
    AppealRoutingRules(),
    Ncmec(),
)
BY_KEY: dict[str, Kind] = {kind.key: kind for kind in KINDS}
