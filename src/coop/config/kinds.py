"""Model ⇄ canonical dict, one class per kind of configuration object.

The canonical dict is the file's spelling with every default filled in (schema.py). Planner,
applier, exporter and the ConfigChange snapshots all go through these classes, so a value can
only be converted in one place.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from django.db import connection, models
from django.utils import timezone

from coop.accounts.models import User
from coop.catalog.models import Action, Bank, BankEntry, ItemType, OrgSettings, Policy
from coop.config import schema
from coop.core.enums import BankKind
from coop.core.field_types import FieldRole
from coop.hma import tasks as hma_tasks
from coop.review.models import ClearDisposition, ClearScope, Queue
from coop.rules.models import RoutingKind, RoutingRule, Rule

Canonical = dict[str, Any]


def _normalize(check: schema.Check, raw: dict) -> Canonical:
    """Stored data was validated when written; normalizing again fills defaults added since."""
    return check(raw, "", [])


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _copy(value: Any) -> Any:
    """Array fields come back as lists the canonical dict must not share."""
    return list(value) if isinstance(value, list | tuple) else value


_DROP = object()


class Kind:
    """One list of the configuration file (`itemTypes`, `rules`, ...).

    The kind's field map is its schema spec: each file key is read from and assigned to the
    model attribute of the same name in snake_case (`hiddenFields` -> `hidden_fields`) unless
    `renamed` says otherwise; `read`/`write` convert the values that are not stored as they are
    spelled in the file, and `by_hand` keys are not stored on the row at all (`after_save`
    writes them). Export is `schema.compact` plus the `export_as` spellings. So a new field of
    a kind needs its model field, migration, schema entry and form only.
    """

    key: ClassVar[str]
    model: ClassVar[type[models.Model]]
    singleton: ClassVar[bool] = False
    spec_: ClassVar[schema.Spec] = {}
    # Checked again on load, to fill in defaults added since the row was written.
    check: ClassVar[schema.Check | None] = None
    renamed: ClassVar[dict[str, str]] = {}
    # file key -> model value -> canonical value / canonical value -> model value
    read: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    write_as: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    # file key -> canonical value from the whole row (keys not stored as one attribute)
    read_row: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    by_hand: ClassVar[frozenset[str]] = frozenset()
    # Keys kept on the row that are not in the file (routing rules' position).
    extra: ClassVar[tuple[str, ...]] = ()
    # file key -> how it is exported (after compaction; _DROP leaves it out)
    export_as: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    # Keys exported even at their default value.
    always_exported: ClassVar[frozenset[str]] = frozenset()
    # OPTIONAL keys an absent value of which keeps the object's current one (value for new ones).
    kept_when_absent: ClassVar[dict[str, Any]] = {}

    def spec(self) -> schema.Spec:
        return self.spec_

    def queryset(self) -> models.QuerySet:
        return self.model.objects.all()

    def load(self) -> dict[str, Canonical]:
        """The database state, id -> canonical dict."""
        return {o.pk: self.to_dict(o) for o in self.queryset()}

    def versions(self) -> dict[str, int]:
        return dict(self.queryset().values_list("pk", "version"))

    def attribute(self, key: str) -> str:
        return self.renamed.get(key, _snake(key))

    def to_dict(self, o: Any) -> Canonical:
        raw: Canonical = {}
        for key in (*self.spec(), *self.extra):
            if key in self.read_row:
                raw[key] = self.read_row[key](o)
            elif key not in self.by_hand:
                value = _copy(getattr(o, self.attribute(key)))
                raw[key] = self.read[key](value) if key in self.read else value
        return _normalize(self.check, raw) if self.check else raw

    def assign(self, o: Any, data: Canonical) -> None:
        for key in (*self.spec(), *self.extra):
            if key == "id" or key in self.by_hand or key in self.read_row:
                continue
            value = data[key]
            setattr(
                o, self.attribute(key), self.write_as[key](value) if key in self.write_as else value
            )

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

    def keep_absent(self, data: Canonical, existing: Canonical | None) -> None:
        """Fill the `kept_when_absent` keys a file left out from the object's current state."""
        spec = self.export_spec(data)
        for key, new in self.kept_when_absent.items():
            if key in spec and key not in data:
                data[key] = copy.deepcopy((existing or {}).get(key, new))

    def export_spec(self, data: Canonical) -> schema.Spec:
        return self.spec()

    def export_one(self, data: Canonical) -> Any:
        item = schema.compact(data, self.export_spec(data))
        for key in self.extra:
            item.pop(key, None)
        for key in self.always_exported:
            item.setdefault(key, data[key])
        for key, spell in self.export_as.items():
            if key in item:
                value = spell(item[key])
                if value is _DROP:
                    del item[key]
                else:
                    item[key] = value
        return item

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        return [self.export_one(data) for data in state.values()]


def _compact_each(spec: schema.Spec) -> Callable[[list[dict]], list[dict]]:
    return lambda values: [schema.compact(value, spec) for value in values]


class ItemTypes(Kind):
    key = "itemTypes"
    model = ItemType
    spec_ = schema.ITEM_TYPE
    check = staticmethod(schema.item_type)
    always_exported = frozenset({"fields"})
    export_as = {
        "fields": _compact_each(schema.FIELD),
        "roles": lambda roles: {str(r): roles[r] for r in FieldRole if r in roles},
    }


class Policies(Kind):
    """Stored flat with `parent`; the file nests children instead."""

    key = "policies"
    model = Policy
    spec_ = schema.POLICY
    renamed = {"parent": "parent_id"}

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        nodes = {pid: self.export_one(data) for pid, data in state.items()}
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
    spec_ = schema.ACTION
    check = staticmethod(schema.action)
    export_as = {"parameters": _compact_each(schema.PARAMETER)}

    def queryset(self) -> models.QuerySet:
        return Action.objects.filter(builtin=False)

    def assign(self, o: Action, data: Canonical) -> None:
        super().assign(o, data)
        o.builtin = False


# One statement for any number of entries (bulk_create would build a model instance each).
_INSERT_VALUES = (
    "INSERT INTO {table} (bank_id, position, value)"
    " SELECT %s, %s + n - 1, v FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, n)"
)


class Banks(Kind):
    """The values, locations or hashes are the bank's entries; the keys depend on the kind."""

    key = "banks"
    model = Bank
    spec_ = schema.BANK_COMMON
    check = staticmethod(schema.bank)
    renamed = {"distance": "distance_threshold"}
    by_hand = frozenset({"values", "locations", "hashes"})
    kept_when_absent = {"hashes": []}
    export_as = {"locations": lambda locations: [schema.ordered_location(x) for x in locations]}

    def load(self) -> dict[str, Canonical]:
        """Entries read as plain values, all banks in one query: a 100,000-hash bank is
        100,000 rows, and model instances for them would cost seconds."""
        entries: dict[str, list] = defaultdict(list)
        for bank_id, value, location in BankEntry.objects.order_by(
            "bank_id", "position"
        ).values_list("bank_id", "value", "location"):
            entries[bank_id].append(value if location is None else location)
        return {o.pk: self._canonical(o, entries.get(o.pk, [])) for o in self.queryset()}

    def export_spec(self, data: Canonical) -> schema.Spec:
        return schema.BANK_BY_KIND.get(data.get("kind"), schema.BANK_COMMON)

    def to_dict(self, o: Bank) -> Canonical:
        column = "location" if o.kind == BankKind.LOCATION else "value"
        return self._canonical(
            o, list(o.entries.order_by("position").values_list(column, flat=True))
        )

    def _canonical(self, o: Bank, entries: list) -> Canonical:
        spec = schema.BANK_BY_KIND[o.kind]
        raw: Canonical = {}
        for key in spec:
            if key not in self.by_hand:
                raw[key] = getattr(o, self.attribute(key))
        if o.kind == BankKind.LOCATION:
            raw["locations"] = entries
        elif o.kind == BankKind.HASH:
            raw["signalType"] = raw["signalType"] or "pdq"
            raw["hashes"] = entries
            if raw["distance"] is None:
                del raw["distance"]
        else:
            raw["values"] = entries
        return _normalize(schema.bank, raw)

    def assign(self, o: Bank, data: Canonical) -> None:
        # Not HASH:
        o.signal_type, o.distance_threshold, o.enabled, o.exchange = "", None, True, None
        for key in self.export_spec(data):
            if key != "id" and key not in self.by_hand:
                setattr(o, self.attribute(key), data[key])

    def after_save(self, o: Bank, data: Canonical) -> None:
        """Write the entries. Adding to a bank (an import, an uploaded image) appends: only
        the new entries are written; any other change rewrites them all."""
        if data["kind"] == BankKind.LOCATION:
            new, column = data["locations"], "location"
        elif data["kind"] == BankKind.HASH:
            new, column = data["hashes"], "value"
        else:
            new, column = data["values"], "value"
        old = list(o.entries.order_by("position").values_list(column, flat=True))
        if old != new[: len(old)]:
            o.entries.all().delete()
            old = []
        tail = new[len(old) :]
        if column == "location":
            rows = [
                BankEntry(bank=o, position=len(old) + i, location=x) for i, x in enumerate(tail)
            ]
            BankEntry.objects.bulk_create(rows, batch_size=5000)
        elif tail:
            with connection.cursor() as cursor:
                cursor.execute(
                    _INSERT_VALUES.format(table=BankEntry._meta.db_table), [o.pk, len(old), tail]
                )
        hma_tasks.bank_saved(o)

    def delete(self, object_id: str) -> None:
        hma_tasks.bank_deleted(object_id)
        super().delete(object_id)


class Rules(Kind):
    key = "rules"
    model = Rule
    spec_ = schema.RULE
    read = {
        "actions": lambda actions: [
            {"id": a["id"], "parameters": a.get("parameters") or {}} for a in actions
        ],
        "expiresAt": lambda moment: schema.format_datetime(moment) if moment else None,
    }
    write_as = {"expiresAt": lambda text: datetime.fromisoformat(text) if text else None}
    read_row = {"owner": lambda o: o.owner.email.lower() if o.owner_id else None}
    kept_when_absent = {"owner": None}
    export_as = {
        "actions": schema.compact_action_refs,
        "condition": schema.ordered_condition,
        "owner": lambda owner: owner or _DROP,
    }

    def queryset(self) -> models.QuerySet:
        return Rule.objects.select_related("owner")

    def assign(self, o: Rule, data: Canonical) -> None:
        super().assign(o, data)
        email = data.get("owner")
        o.owner = User.objects.filter(email__iexact=email).first() if email else None


def _clear_other_reports(o: Queue) -> Canonical | None:
    if not o.clear_disposition:
        return None
    return {
        "disposition": o.clear_disposition,
        "scope": o.clear_scope,
        "triggerActions": list(o.clear_trigger_actions),
    }


class Queues(Kind):
    key = "queues"
    model = Queue
    spec_ = schema.QUEUE
    renamed = {"default": "is_default", "appeals": "is_appeals"}
    read_row = {
        "reviewers": lambda o: sorted(u.email.lower() for u in o.reviewers.all()),
        "clearOtherReports": _clear_other_reports,
    }
    kept_when_absent = {"clearOtherReports": None}
    # Off: left out, so files that never used it export as before.
    export_as = {
        "clearOtherReports": lambda clear: (
            schema.compact(clear, schema.CLEAR_OTHER_REPORTS) if clear else _DROP
        )
    }

    def queryset(self) -> models.QuerySet:
        return Queue.objects.prefetch_related("reviewers")

    def assign(self, o: Queue, data: Canonical) -> None:
        super().assign(o, data)
        clear = data.get("clearOtherReports") or {
            "disposition": ClearDisposition.NONE,
            "scope": ClearScope.THIS_QUEUE,
            "triggerActions": [],
        }
        o.clear_disposition, o.clear_scope = clear["disposition"], clear["scope"]
        o.clear_trigger_actions = clear["triggerActions"]

    def after_save(self, o: Queue, data: Canonical) -> None:
        o.reviewers.set(User.objects.filter(email__in=data["reviewers"]))


class RoutingRules(Kind):
    """`position` is the index in the file's list; the export writes the list in that order."""

    key = "routingRules"
    model = RoutingRule
    routing_kind = RoutingKind.ROUTING
    spec_ = schema.ROUTING_RULE
    renamed = {"queue": "queue_id"}
    extra = ("position",)
    export_as = {"condition": schema.ordered_condition}

    def queryset(self) -> models.QuerySet:
        return RoutingRule.objects.filter(kind=self.routing_kind).order_by("position")

    def assign(self, o: RoutingRule, data: Canonical) -> None:
        super().assign(o, data)
        o.kind = self.routing_kind

    def export(self, state: dict[str, Canonical]) -> list[Any]:
        return super().export(dict(sorted(state.items(), key=lambda kv: kv[1]["position"])))


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

    spec_ = schema.SETTINGS

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
    """The password is exported as stored: `!secret NAME`, or the encrypted token of a value
    set in the console (coop.catalog.credentials), never in clear."""

    key = "ncmec"

    spec_ = schema.NCMEC

    def export(self, state: dict[str, Canonical]) -> Any:
        data = state.get(self.key)
        if data is None:
            return None
        out = schema.compact(data, schema.NCMEC)
        if "contactPerson" in out:
            out["contactPerson"] = schema.compact(out["contactPerson"], schema.NCMEC_CONTACT_PERSON)
        return out


class Integrations(Singleton):
    """Exported without what is at its default: unconfigured providers, default limits."""

    key = "integrations"

    spec_ = schema.INTEGRATIONS

    def export(self, state: dict[str, Canonical]) -> Any:
        data = state.get(self.key)
        if not data:
            return None
        out: dict[str, Any] = {}
        for provider, spec in schema.INTEGRATION_PROVIDERS.items():
            if data.get(provider):
                out[provider] = schema.compact(data[provider], spec)
        if data.get("httpSignals"):
            out["httpSignals"] = [
                schema.compact(s, schema.HTTP_SIGNAL) for s in data["httpSignals"]
            ]
        return out or None


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
    Integrations(),
    Ncmec(),
)
BY_KEY: dict[str, Kind] = {kind.key: kind for kind in KINDS}
