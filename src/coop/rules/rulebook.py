"""The configuration the rules engine runs on, cached per configuration version.

Every configuration change writes a ConfigChange row, so `MAX(id)` of that table is a version
every process checks with one cheap query; a new version rebuilds the book (rules, routing
rules, item types, compiled conditions), so a change applies everywhere at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from coop.catalog.models import Bank, ItemType, Policy
from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission
from coop.rules.banks import DatabaseSignalProvider
from coop.rules.conditions import (
    IMAGE_HASH_SIGNALS,
    CatalogView,
    ItemTypeInfo,
    RuleKind,
    parse_condition,
    signals_in,
    validate_condition,
)
from coop.rules.evaluator import CompiledCondition, Item, compile_condition, item_schema
from coop.rules.models import RoutingKind, RoutingRule, Rule, RuleStatus
from coop.signals.registry import SignalRegistry

EVALUATED_STATUSES = (RuleStatus.LIVE, RuleStatus.BACKGROUND)


@dataclass(frozen=True, slots=True)
class LoadedRule:
    id: str
    version: int
    name: str
    status: str
    policies: tuple[str, ...]
    actions: tuple[tuple[str, dict[str, Any]], ...]
    expires_at: datetime | None
    max_daily_actions: int | None
    condition: CompiledCondition | None
    # Why the rule cannot be evaluated under the current configuration (logged as ERRORED).
    problem: str | None
    signals: frozenset[str] = frozenset()  # the signals its condition uses


@dataclass(frozen=True, slots=True)
class LoadedRoutingRule:
    id: str
    version: int
    name: str
    item_types: frozenset[str]
    queue_id: str
    condition: CompiledCondition | None
    problem: str | None


@dataclass(frozen=True, slots=True)
class LoadedItemType:
    id: str
    name: str
    version: int
    kind: str
    schema: dict[str, tuple[str, str | None]]


@dataclass(frozen=True, slots=True)
class RuleBook:
    """The rules, routing rules and item types of one configuration version."""

    version: int
    item_types: dict[str, LoadedItemType]
    rules: dict[str, tuple[LoadedRule, ...]]  # item type id -> its LIVE and BACKGROUND rules
    routing: dict[str, tuple[LoadedRoutingRule, ...]]  # ROUTING | APPEAL -> rules in order
    # Item types with a rule on image hashes: only their images are fetched and hashed.
    hashed_types: frozenset[str] = frozenset()


class _Cache:
    """Process-wide: the signal provider (compiled banks) and the current rule book."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.provider: DatabaseSignalProvider | None = None
        self.book: RuleBook | None = None


_cache = _Cache()


def signal_provider() -> DatabaseSignalProvider:
    """The process's provider. Bank versions are re-read when the configuration changes."""
    with _cache.lock:
        if _cache.provider is None:
            _cache.provider = DatabaseSignalProvider(version_max_age=float("inf"))
        return _cache.provider


def config_version() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM catalog_configchange")
        return cursor.fetchone()[0]


def current_rulebook() -> RuleBook:
    """The rule book of the configuration in force: one cheap query when nothing changed."""
    version = config_version()
    book = _cache.book
    if book is None or book.version != version:
        provider = signal_provider()
        provider.configuration_changed()
        book = _load_rulebook(version, provider)
        _cache.book = book
    return book


def _load_rulebook(version: int, provider: DatabaseSignalProvider) -> RuleBook:
    types = list(ItemType.objects.all())
    item_types = {
        t.id: LoadedItemType(t.id, t.name, t.version, t.kind, item_schema(t.fields)) for t in types
    }
    catalog = database_catalog(types, provider.registry)
    by_type: dict[str, list[LoadedRule]] = {type_id: [] for type_id in item_types}
    hashed_types: set[str] = set()
    for rule in Rule.objects.filter(status__in=EVALUATED_STATUSES).order_by("id"):
        loaded = _load_rule(rule, catalog, provider)
        for type_id in rule.item_types:
            by_type.setdefault(type_id, []).append(loaded)
        if IMAGE_HASH_SIGNALS & loaded.signals:
            hashed_types.update(rule.item_types)
    routing: dict[str, list[LoadedRoutingRule]] = {kind: [] for kind in RoutingKind.values}
    for routing_rule in RoutingRule.objects.order_by("kind", "position"):
        condition, problem, _ = _compile(
            routing_rule.condition, routing_rule.item_types, catalog, provider, RuleKind.ROUTING
        )
        routing[routing_rule.kind].append(
            LoadedRoutingRule(
                id=routing_rule.id,
                version=routing_rule.version,
                name=routing_rule.name,
                item_types=frozenset(routing_rule.item_types),
                queue_id=routing_rule.queue_id,
                condition=condition,
                problem=problem,
            )
        )
    return RuleBook(
        version,
        item_types,
        {k: tuple(v) for k, v in by_type.items()},
        {k: tuple(v) for k, v in routing.items()},
        frozenset(hashed_types),
    )


def database_catalog(types: list[ItemType], signals: SignalRegistry) -> CatalogView:
    """What conditions may refer to under the stored configuration."""
    return CatalogView(
        item_types={
            t.id: ItemTypeInfo(
                t.kind,
                {f["name"]: f.get("items") or f.get("values") or f["type"] for f in t.fields},
                dict(t.roles),
            )
            for t in types
        },
        banks=dict(Bank.objects.values_list("id", "kind")),
        policies=frozenset(Policy.objects.values_list("id", flat=True)),
        signals=signals,
    )


def _compile(
    data: object,
    item_types: list[str],
    catalog: CatalogView,
    provider: DatabaseSignalProvider,
    kind: RuleKind,
    automated: bool = False,
) -> tuple[CompiledCondition | None, str | None, frozenset[str]]:
    """The compiled condition (and the signals it uses), or why it cannot run under the
    current configuration.

    Saving refuses invalid conditions; this catches a configuration that changed under a rule
    (the rule then evaluates as ERRORED with this reason in its log).
    """
    errors = validate_condition(data, catalog, item_types, rule_kind=kind, automated=automated)
    if errors:
        return None, "; ".join(f"{e.path}: {e.message}" for e in errors), frozenset()
    tree, _ = parse_condition(data)
    return compile_condition(tree, provider), None, frozenset(signals_in(tree))


def _load_rule(rule: Rule, catalog: CatalogView, provider: DatabaseSignalProvider) -> LoadedRule:
    condition, problem, signals = _compile(
        rule.condition,
        rule.item_types,
        catalog,
        provider,
        RuleKind.PROACTIVE,
        automated=bool(rule.actions),
    )
    return LoadedRule(
        id=rule.id,
        version=rule.version,
        name=rule.name,
        status=rule.status,
        policies=tuple(rule.policies),
        actions=tuple((a["id"], dict(a.get("parameters") or {})) for a in rule.actions),
        expires_at=rule.expires_at,
        max_daily_actions=rule.max_daily_actions,
        condition=condition,
        problem=problem,
        signals=signals,
    )


def item_for(item: ItemSubmission | ItemRef, item_type: LoadedItemType) -> Item:
    """The evaluator's view of an item; an item known only by reference has no data."""
    if isinstance(item, ItemRef):
        return Item(item.item_id, item.item_type_id, item_type.kind, item_type.schema, {})
    submission = item
    creator = None
    if submission.creator_id and submission.creator_type_id:
        creator = ItemRef(submission.creator_id, submission.creator_type_id)
    return Item(
        item_id=submission.item_id,
        type_id=submission.item_type_id,
        kind=item_type.kind,
        schema=item_type.schema,
        data=submission.data,
        creator=creator,
    )
