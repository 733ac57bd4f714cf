"""References between objects, checked on the configuration as it will be after the change.

Checking the resulting state (the file plus the database objects that stay) rather than the file
alone is what refuses, say, deleting a bank that a remaining rule still uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from coop.catalog.credentials import CredentialError, resolve_credential
from coop.config.kinds import Canonical
from coop.config.schema import ConfigError, Errors, parameter_value_error
from coop.core.enums import ItemKind
from coop.rules.conditions import CatalogView, ItemTypeInfo, RuleKind, validate_condition
from coop.signals.registry import SignalRegistry

State = dict[str, dict[str, Canonical]]


@dataclass(frozen=True)
class Context:
    state: State
    paths: dict[tuple[str, str], str]
    builtin_actions: frozenset[str]
    user_emails: frozenset[str]
    signals: SignalRegistry
    # Reviewers (by email) whose role has VIEW_CHILD_SAFETY_DATA: only they may review the
    # NCMEC queue (review.md).
    child_safety_emails: frozenset[str] = frozenset()

    def path(self, kind: str, object_id: str) -> str:
        if kind in ("settings", "ncmec", "integrations"):
            return kind
        return self.paths.get((kind, object_id)) or f"{kind}[id={object_id}]"

    def objects(self, kind: str) -> Iterable[tuple[str, Canonical]]:
        return ((self.path(kind, oid), data) for oid, data in self.state.get(kind, {}).items())


def catalog_view(state: State, signals: SignalRegistry) -> CatalogView:
    item_types = {}
    for type_id, data in state.get("itemTypes", {}).items():
        fields = {
            f["name"]: f.get("items") or f.get("values") or f["type"]
            for f in data["fields"]
            if f.get("name") and f.get("type")
        }
        item_types[type_id] = ItemTypeInfo(data["kind"], fields, dict(data.get("roles") or {}))
    banks = {bank_id: data["kind"] for bank_id, data in state.get("banks", {}).items()}
    return CatalogView(item_types, banks, frozenset(state.get("policies", {})), signals)


def validate_state(ctx: Context) -> Errors:
    """Every reference between objects, kind by kind in the file's order."""
    errors: Errors = []
    catalog = catalog_view(ctx.state, ctx.signals)
    policies = ctx.state.get("policies", {})
    item_types = ctx.state.get("itemTypes", {})
    for path, data in ctx.objects("policies"):
        _check_policy_parents(data, policies, path, errors)
    for path, data in ctx.objects("actions"):
        _refs(data["itemTypes"], f"{path}.itemTypes", item_types, "item type", errors)
    for path, data in ctx.objects("rules"):
        _check_rule(ctx, catalog, path, data, errors)
    for path, data in ctx.objects("queues"):
        _check_queue(ctx, path, data, errors)
    _check_default_queues(ctx, errors)
    for kind, appeals in (("routingRules", False), ("appealRoutingRules", True)):
        for path, data in ctx.objects(kind):
            _check_routing_rule(ctx, catalog, path, data, appeals, errors)
    _check_singletons(ctx, errors)
    _check_exchange_credentials(ctx, errors)
    return errors


def _refs(values: list, path: str, known: Any, what: str, errors: Errors) -> None:
    for i, value in enumerate(values):
        if value is not None and value not in known:
            errors.append(ConfigError(f"{path}[{i}]", f"unknown {what} {value!r}"))


def _check_rule(
    ctx: Context, catalog: CatalogView, path: str, data: Canonical, errors: Errors
) -> None:
    if not data["itemTypes"]:
        errors.append(ConfigError(f"{path}.itemTypes", "a rule needs at least one item type"))
    _refs(
        data["itemTypes"], f"{path}.itemTypes", ctx.state.get("itemTypes", {}), "item type", errors
    )
    _refs(data["policies"], f"{path}.policies", ctx.state.get("policies", {}), "policy", errors)
    _check_action_refs(ctx, data["actions"], f"{path}.actions", data["itemTypes"], errors)
    errors += _condition(ctx, catalog, data, path, RuleKind.PROACTIVE, bool(data["actions"]))
    owner = data.get("owner")
    if owner and owner not in ctx.user_emails:
        errors.append(ConfigError(f"{path}.owner", f"no user with email {owner!r}"))


def _check_queue(ctx: Context, path: str, data: Canonical, errors: Errors) -> None:
    known = set(ctx.state.get("actions", {})) | ctx.builtin_actions
    _refs(data["hiddenActions"], f"{path}.hiddenActions", known, "action", errors)
    clear = data.get("clearOtherReports")
    if clear and clear["triggerActions"] is not None:
        where = f"{path}.clearOtherReports"
        _refs(clear["triggerActions"], f"{where}.triggerActions", known, "action", errors)
        if data["appeals"]:
            errors.append(ConfigError(where, "appeals queues never clear other reports"))
    for i, email in enumerate(data["reviewers"]):
        if email not in ctx.user_emails:
            errors.append(ConfigError(f"{path}.reviewers[{i}]", f"no user with email {email!r}"))


def _check_default_queues(ctx: Context, errors: Errors) -> None:
    queues = ctx.state.get("queues", {})
    for appeals in (False, True):
        defaults = [q for q in queues.values() if q["default"] and q["appeals"] == appeals]
        if not defaults:
            what = "appeals queue" if appeals else "queue"
            errors.append(ConfigError("queues", f"there must be a default {what}"))


def _check_routing_rule(
    ctx: Context,
    catalog: CatalogView,
    path: str,
    data: Canonical,
    appeals: bool,
    errors: Errors,
) -> None:
    _refs(
        data["itemTypes"], f"{path}.itemTypes", ctx.state.get("itemTypes", {}), "item type", errors
    )
    if not data["itemTypes"]:
        errors.append(ConfigError(f"{path}.itemTypes", "needs at least one item type"))
    queue = ctx.state.get("queues", {}).get(data["queue"])
    if queue is None:
        errors.append(ConfigError(f"{path}.queue", f"unknown queue {data['queue']!r}"))
    elif queue["appeals"] != appeals:
        wanted = "an appeals queue" if appeals else "a queue that is not for appeals"
        errors.append(ConfigError(f"{path}.queue", f"must be {wanted}"))
    errors += _condition(ctx, catalog, data, path, RuleKind.ROUTING, automated=False)


def _check_singletons(ctx: Context, errors: Errors) -> None:
    """Strike thresholds' actions (on users) and the NCMEC default queue."""
    settings = ctx.state.get("settings", {}).get("settings")
    if settings:
        item_types = ctx.state.get("itemTypes", {})
        users = [t for t, d in item_types.items() if d["kind"] == ItemKind.USER]
        for i, threshold in enumerate(settings["strikes"]["thresholds"]):
            if threshold:
                where = f"settings.strikes.thresholds[{i}].actions"
                _check_action_refs(ctx, threshold["actions"], where, users, errors)
    ncmec = ctx.state.get("ncmec", {}).get("ncmec")
    if ncmec and ncmec["defaultQueue"]:
        _check_ncmec_queue(ctx, ncmec["defaultQueue"], errors)


def _check_ncmec_queue(ctx: Context, queue_id: str, errors: Errors) -> None:
    """The NCMEC queue exists, is not the default queue (whose every job would become
    child-safety) nor an appeals queue, and only users with VIEW_CHILD_SAFETY_DATA review it:
    on the queue's reviewers when the queue is being saved, else on `ncmec.defaultQueue`."""
    queue = ctx.state.get("queues", {}).get(queue_id)
    where = "ncmec.defaultQueue"
    if queue is None:
        errors.append(ConfigError(where, f"unknown queue {queue_id!r}"))
        return
    if queue["appeals"]:
        errors.append(ConfigError(where, f"queue {queue_id!r} is an appeals queue"))
    if queue["default"]:
        errors.append(
            ConfigError(
                where,
                f"queue {queue_id!r} is the default queue; choose a queue of its own "
                "(every job in the NCMEC queue is hidden from users without "
                "VIEW_CHILD_SAFETY_DATA)",
            )
        )
    refused = [e for e in queue["reviewers"] if e is not None and e not in ctx.child_safety_emails]
    if not refused:
        return
    rule = "only users with the VIEW_CHILD_SAFETY_DATA permission may review the NCMEC queue"
    if ("queues", queue_id) in ctx.paths:
        path = ctx.path("queues", queue_id)
        for i, email in enumerate(queue["reviewers"]):
            if email in refused:
                errors.append(
                    ConfigError(f"{path}.reviewers[{i}]", f"{rule}; {email} does not have it")
                )
    else:
        errors.append(
            ConfigError(
                where, f"{rule}; reviewers of queue {queue_id!r} without it: {', '.join(refused)}"
            )
        )


def _check_exchange_credentials(ctx: Context, errors: Errors) -> None:
    """HMA keeps exchange credentials per exchange API, not per bank: banks whose exchanges use
    one API must give it the same credentials. Objects already stored come first, so the error
    lands on the one being changed."""
    first: dict[str, tuple[str, dict]] = {}
    stored_first = sorted(ctx.objects("banks"), key=lambda item: "[id=" not in item[0])
    for path, data in stored_first:
        exchange = data.get("exchange")
        if not exchange or not exchange.get("credentials"):
            continue
        mine = _identities(exchange["credentials"])
        api = exchange["api"]
        if api in first and first[api][1] != mine:
            errors.append(
                ConfigError(
                    f"{path}.exchange.credentials",
                    f"differ from those of {first[api][0]}: HMA keeps one set of "
                    f"credentials per exchange API ({api})",
                )
            )
        first.setdefault(api, (path, mine))


def _identities(credentials: dict) -> dict[str, tuple[str, str]]:
    """What makes two credentials the same: the variable a `!secret` names, or the value a
    console-encrypted token holds (two encryptions of one value differ)."""
    out = {}
    for key, stored in credentials.items():
        if "secret" in stored:
            out[key] = ("secret", stored["secret"])
        else:
            try:
                out[key] = ("value", resolve_credential(stored))
            except CredentialError:
                out[key] = ("token", str(stored.get("encrypted")))
    return out


def _condition(
    ctx: Context, catalog: CatalogView, data: Canonical, path: str, kind: RuleKind, automated: bool
) -> Errors:
    return [
        ConfigError(e.path, e.message)
        for e in validate_condition(
            data["condition"],
            catalog,
            data["itemTypes"],
            rule_kind=kind,
            automated=automated,
            path=f"{path}.condition",
        )
    ]


def _check_policy_parents(data: Canonical, policies: State, path: str, errors: Errors) -> None:
    seen = {data["id"]}
    parent = data["parent"]
    while parent is not None:
        if parent not in policies:
            errors.append(ConfigError(f"{path}.parent", f"unknown policy {parent!r}"))
            return
        if parent in seen:
            errors.append(ConfigError(f"{path}.parent", "policies cannot be their own ancestor"))
            return
        seen.add(parent)
        parent = policies[parent]["parent"]


def _check_action_refs(
    ctx: Context, action_refs: list, path: str, item_types: list[str], errors: Errors
) -> None:
    """Each action exists, applies to the item types, and gets valid parameters."""
    actions = ctx.state.get("actions", {})
    for i, ref in enumerate(action_refs):
        if not ref or ref.get("id") is None:
            continue
        where = f"{path}[{i}]"
        action_id = ref["id"]
        if action_id in ctx.builtin_actions:
            if ref["parameters"]:
                errors.append(
                    ConfigError(f"{where}.parameters", f"{action_id} takes no parameters")
                )
            continue
        action = actions.get(action_id)
        if action is None:
            errors.append(ConfigError(where, f"unknown action {action_id!r}"))
            continue
        if action["itemTypes"]:
            for type_id in item_types:
                if type_id not in action["itemTypes"]:
                    errors.append(
                        ConfigError(
                            where, f"action {action_id!r} does not apply to item type {type_id!r}"
                        )
                    )
        _check_parameters(action_id, action, ref["parameters"] or {}, where, errors)


def _check_parameters(
    action_id: str, action: Canonical, given: dict[str, Any], where: str, errors: Errors
) -> None:
    """The parameters given to a custom action: known, of their type, and none missing."""
    params = {p["name"]: p for p in action["parameters"] if p}
    for param_name, value in given.items():
        spec = params.get(param_name)
        if spec is None:
            errors.append(
                ConfigError(
                    f"{where}.parameters.{param_name}",
                    f"action {action_id!r} has no such parameter",
                )
            )
            continue
        message = parameter_value_error(spec["type"], value)
        if message:
            errors.append(ConfigError(f"{where}.parameters.{param_name}", message))
    for param_name, spec in params.items():
        if spec["required"] and "default" not in spec and param_name not in given:
            errors.append(
                ConfigError(f"{where}.parameters", f"missing required parameter {param_name!r}")
            )
