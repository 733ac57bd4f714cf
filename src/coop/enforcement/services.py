"""Executing actions on items (rules.md, api.md action callback) and the webhook outbox.

`execute_actions` is what rules, reviewers, bulk actions, the actions API and strike
thresholds call, inside their own transaction: executions, outbox deliveries (with their
delivery tasks), strikes and built-in effects commit or roll back with the caller's work.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from coop.accounts.models import User
from coop.catalog import builtins
from coop.catalog.item_data import escape_pointer_token
from coop.catalog.models import Action, ItemKind, ItemType, Policy
from coop.catalog.org_settings import org_settings
from coop.core.items import ItemRef
from coop.enforcement.builtin_actions import BuiltinCall, BuiltinRefused, builtin
from coop.enforcement.models import (
    ActionExecution,
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    ExecutionKey,
    ExecutionSource,
)
from coop.enforcement.strikes import add_strike, policy_weights, user_strike_total
from coop.enforcement.tasks import send_later
from coop.ingest.models import ItemSubmission
from coop.ingest.store import history_of

logger = logging.getLogger(__name__)

# Sources where no person or platform call waits for an answer: a built-in that cannot act
# records why on the execution instead of failing the whole evaluation.
AUTOMATED = {ExecutionSource.RULE, ExecutionSource.RETROACTION, ExecutionSource.STRIKE}
PARAMETER_TYPES: dict[str, tuple[type, ...]] = {
    "STRING": (str,),
    "NUMBER": (int, float),
    "BOOLEAN": (bool,),
}


@dataclass(frozen=True, slots=True)
class RuleRef:
    id: str
    version: int
    name: str


@dataclass(slots=True)
class ActionRequest:
    action_id: str
    item: ItemRef
    source: ExecutionSource
    policy_ids: list[str] = field(default_factory=list)
    rules: list[RuleRef] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    actor: User | None = None
    note: str = ""
    decision_reason: str = ""
    # Merged into the callback's `custom` (e.g. `reason` and `reportHistory` of reviews).
    custom_extra: dict[str, Any] = field(default_factory=dict)
    submission_id: int | None = None
    idempotency_key: str | None = None
    # The execution event the request belongs to: each event adds at most one strike per
    # user. None: the whole execute_actions call is one event (a decision, an API call).
    event: str | None = None
    # The score the rules' signals gave the item (built-ins that enqueue jobs use it).
    signal_score: float = 0.0


class ActionError(Exception):
    """A request that cannot run as given; `pointer` names the field in API terms
    (`/actionId`, `/parameters/days`, ...) and `index` the request in the list."""

    def __init__(self, title: str, detail: str, pointer: str = "", index: int = 0):
        super().__init__(f"{title}: {detail}")
        self.title, self.detail, self.pointer, self.index = title, detail, pointer, index


def rule_idempotency_key(submission_id: int, rules: Sequence[RuleRef], action_id: str) -> str:
    """The key of a rule-fired execution: the submission, the rule versions and the action."""
    versions = ",".join(sorted(f"{r.id}@{r.version}" for r in rules))
    return f"rule:{submission_id}:{versions}:{action_id}"


@dataclass(slots=True)
class _Prepared:
    request: ActionRequest
    action: Action
    item_type: ItemType
    parameters: dict[str, Any]
    user: ItemRef | None
    submission_id: int | None  # the given one, else the item's latest, if any


@dataclass(slots=True)
class _Catalog:
    actions: dict[str, Action]
    item_types: dict[str, ItemType]
    policies: dict[str, Policy]

    @classmethod
    def load(cls, requests: Sequence[ActionRequest]) -> _Catalog:
        return cls(
            Action.objects.in_bulk({r.action_id for r in requests}),
            ItemType.objects.in_bulk({r.item.item_type_id for r in requests}),
            {p.id: p for p in Policy.objects.all()},
        )


def execute_actions(requests: Sequence[ActionRequest]) -> list[ActionExecution]:
    """Execute each request: record it, deliver its callback, apply strikes and built-ins.

    Every request is checked before anything is written (ActionError otherwise). A request
    whose `idempotency_key` was already executed returns that execution and does nothing
    else. Requests are written in bulk, so a worker passes a whole batch of items at once
    (one `event` per item). Call inside the caller's transaction.
    """
    if not requests:
        return []
    catalog = _Catalog.load(requests)
    submissions = _submissions(requests)
    prepared = [_prepare(request, catalog, i, submissions) for i, request in enumerate(requests)]
    recorded = _record(prepared)
    new = [
        (item, execution)
        for item, (execution, created) in zip(prepared, recorded, strict=True)
        if created
    ]
    totals, threshold_requests = _apply_strikes(new, catalog)
    deliveries = []
    for item, execution in new:
        delivery = _effect(item, execution, catalog, totals)
        if delivery is not None:
            deliveries.append(delivery)
    _outbox(deliveries)
    results = [execution for execution, _ in recorded]
    for request in threshold_requests:
        try:
            results += execute_actions([request])
        except ActionError:
            logger.exception("Strike threshold action %s cannot run", request.action_id)
    return results


def _prepare(
    request: ActionRequest,
    catalog: _Catalog,
    index: int,
    submissions: dict[int, tuple[str | None, str | None]],
) -> _Prepared:
    action, item_type, parameters = _checked(request, catalog, index)
    submission_id, user = _submission_and_user(request, item_type, submissions)
    return _Prepared(request, action, item_type, parameters, user, submission_id)


def _checked(
    request: ActionRequest, catalog: _Catalog, index: int
) -> tuple[Action, ItemType, dict[str, Any]]:
    action = catalog.actions.get(request.action_id)
    if action is None:
        raise ActionError(
            "Unknown action", f"No action has the id {request.action_id!r}.", "/actionId", index
        )
    item_type = catalog.item_types.get(request.item.item_type_id)
    if item_type is None:
        raise ActionError(
            "Unknown item type",
            f"No item type has the id {request.item.item_type_id!r}.",
            "/itemTypeId",
            index,
        )
    if action.item_types and item_type.id not in action.item_types:
        raise ActionError(
            "Action not allowed for this item type",
            f"Action {action.id!r} applies to {', '.join(action.item_types)}, "
            f"not to {item_type.id!r}.",
            "/actionId",
            index,
        )
    for i, policy_id in enumerate(request.policy_ids):
        if policy_id not in catalog.policies:
            raise ActionError(
                "Unknown policy", f"No policy has the id {policy_id!r}.", f"/policyIds/{i}", index
            )
    return action, item_type, validate_parameters(action, request.parameters, index)


def check_requests(requests: Sequence[ActionRequest]) -> list[dict[str, Any]]:
    """What `execute_actions` checks before writing anything (action, item type, policies,
    parameters), without executing: each request's parameters with defaults filled in.
    Raises ActionError for the first request that cannot run (bulk actions ask this before
    their confirmation step)."""
    catalog = _Catalog.load(requests)
    return [_checked(request, catalog, i)[2] for i, request in enumerate(requests)]


def validate_parameters(action: Action, given: dict[str, Any], index: int = 0) -> dict[str, Any]:
    """`given` checked against the action's parameter spec, with defaults filled in."""
    spec = {p["name"]: p for p in action.parameters}
    for name in given:
        if name not in spec:
            raise ActionError(
                "Unknown parameter",
                f"Action {action.id!r} has no parameter {name!r}.",
                f"/parameters/{escape_pointer_token(name)}",
                index,
            )
    values: dict[str, Any] = {}
    for name, param in spec.items():
        pointer = f"/parameters/{escape_pointer_token(name)}"
        value = given.get(name)
        if value is None:
            if "default" in param:
                values[name] = param["default"]
            elif param.get("required"):
                raise ActionError(
                    "Missing parameter",
                    f"Action {action.id!r} requires the parameter {name!r}.",
                    pointer,
                    index,
                )
            continue
        wanted = param["type"]
        if not isinstance(value, PARAMETER_TYPES[wanted]) or (
            wanted != "BOOLEAN" and isinstance(value, bool)
        ):
            raise ActionError(
                "Invalid parameter",
                f"Parameter {name!r} of action {action.id!r} must be a {wanted}.",
                pointer,
                index,
            )
        values[name] = value
    return values


def _submissions(requests: Sequence[ActionRequest]) -> dict[int, tuple[str | None, str | None]]:
    """The creator (id, typeId) of every submission the requests name, in one query."""
    ids = {r.submission_id for r in requests if r.submission_id is not None}
    if not ids:
        return {}
    rows = ItemSubmission.objects.filter(pk__in=ids).values_list(
        "id", "creator_id", "creator_type_id"
    )
    return {pk: (creator_id, creator_type_id) for pk, creator_id, creator_type_id in rows}


def _submission_and_user(
    request: ActionRequest,
    item_type: ItemType,
    submissions: dict[int, tuple[str | None, str | None]],
) -> tuple[int | None, ItemRef | None]:
    """The submission that holds the item's data, and the user the action concerns: the item
    itself if it is a USER, else the creator of that submission."""
    item = request.item
    submission_id = request.submission_id
    creator = submissions.get(submission_id) if submission_id is not None else None
    if submission_id is None:
        latest = history_of(item).values_list("id", "creator_id", "creator_type_id").first()
        if latest is not None:
            submission_id, creator = latest[0], latest[1:]
    if item_type.kind == ItemKind.USER:
        return submission_id, item
    if creator is not None and creator[0] and creator[1]:
        return submission_id, ItemRef(creator[0], creator[1])
    return submission_id, None


def executed_keys(keys: Iterable[str]) -> set[str]:
    """Those of `keys` already recorded: what a (re-)run of them would not execute again."""
    return set(ExecutionKey.objects.filter(key__in=list(keys)).values_list("key", flat=True))


def _record(items: list[_Prepared]) -> list[tuple[ActionExecution, bool]]:
    """The execution rows, in order: new (True), or the one already recorded under the same
    idempotency key (False).

    Keys are claimed first, with one INSERT ... ON CONFLICT DO NOTHING: a key a concurrent
    transaction is writing makes this one wait for its commit and then count as a repeat.
    """
    executions = [_execution(item) for item in items]
    first: dict[str, ActionExecution] = {}  # the first execution asking for each key
    for execution in executions:
        if execution.idempotency_key is not None:
            first.setdefault(execution.idempotency_key, execution)
    owners: dict[str, uuid.UUID] = {}
    if first:
        ExecutionKey.objects.bulk_create(  # in key order: overlapping runs cannot deadlock
            [ExecutionKey(key=key, execution_id=first[key].pk) for key in sorted(first)],
            ignore_conflicts=True,
        )
        owners = dict(
            ExecutionKey.objects.filter(key__in=list(first)).values_list("key", "execution_id")
        )
    fresh = {
        e.pk: e
        for e in executions
        if e.idempotency_key is None or owners[e.idempotency_key] == e.pk
    }
    ActionExecution.objects.bulk_create(fresh.values())
    known = fresh | ActionExecution.objects.in_bulk(set(owners.values()) - fresh.keys())
    return [
        (e, True) if e.pk in fresh else (known[owners[e.idempotency_key]], False)
        for e in executions
    ]


def _execution(item: _Prepared) -> ActionExecution:
    request = item.request
    return ActionExecution(
        action_id=item.action.id,
        item_id=request.item.item_id,
        item_type_id=request.item.item_type_id,
        submission_id=item.submission_id,
        source=request.source,
        actor=request.actor,
        actor_email=request.actor.email if request.actor else "",
        policy_ids=list(request.policy_ids),
        rules=[{"id": r.id, "version": r.version, "name": r.name} for r in request.rules],
        parameters=item.parameters,
        note=request.note,
        decision_reason=request.decision_reason,
        idempotency_key=request.idempotency_key,
    )


def _apply_strikes(
    new: list[tuple[_Prepared, ActionExecution]], catalog: _Catalog
) -> tuple[dict[tuple[str | None, ItemRef], int], list[ActionRequest]]:
    """One strike record per event and target user, weighted by the heaviest policy of its
    strike-applying actions; returns each (event, user)'s total after it and the actions of
    the thresholds crossed."""
    weights = policy_weights(catalog.policies.values())
    heaviest: dict[tuple[str | None, ItemRef], tuple[int, str, ActionExecution]] = {}
    for item, execution in new:
        request = item.request
        if (
            item.user is None
            or not item.action.applies_strikes
            or request.source == ExecutionSource.STRIKE
        ):
            continue
        key = (request.event, item.user)
        for policy_id in request.policy_ids:
            best = heaviest.get(key)
            if best is None or weights[policy_id] > best[0]:
                heaviest[key] = (weights[policy_id], policy_id, execution)
    totals: dict[tuple[str | None, ItemRef], int] = {}
    threshold_requests: list[ActionRequest] = []
    if not any(weight for weight, _, _ in heaviest.values()):
        return totals, threshold_requests
    strike_settings = org_settings()["strikes"]
    for (event, user), (weight, policy_id, execution) in heaviest.items():
        if weight == 0:
            continue
        outcome = add_strike(user, weight, policy_id, execution, strike_settings)
        totals[(event, user)] = outcome.after
        if outcome.threshold is not None:
            threshold_requests += [
                ActionRequest(
                    action_id=ref["id"],
                    item=user,
                    source=ExecutionSource.STRIKE,
                    parameters=dict(ref.get("parameters") or {}),
                )
                for ref in outcome.threshold["actions"]
            ]
    return totals, threshold_requests


def _effect(
    item: _Prepared,
    execution: ActionExecution,
    catalog: _Catalog,
    totals: dict[tuple[str | None, ItemRef], int],
) -> Delivery | None:
    """Run a built-in action, or build the callback delivery of a custom one."""
    action_id = item.action.id
    if action_id in builtins.BUILTIN_ACTIONS:
        _builtin(item, execution)
        return None
    if not item.action.callback_url:
        return None
    strike_count = None
    if item.user is not None:
        key = (item.request.event, item.user)
        if key not in totals:
            totals[key] = user_strike_total(item.user)
        strike_count = totals[key]
    payload = action_payload(item, catalog, strike_count)
    return Delivery(
        event=DeliveryEvent.ACTION,
        url=item.action.callback_url,
        headers=dict(item.action.headers),
        body=encode_body(payload),
        execution=execution,
    )


def action_payload(item: _Prepared, catalog: _Catalog, strike_count: int | None) -> dict[str, Any]:
    """The action callback body of api.md; absent optional fields are left out."""
    request = item.request
    payload: dict[str, Any] = {
        "action": {"id": item.action.id},
        "item": {
            "id": request.item.item_id,
            "typeId": item.item_type.id,
            "typeName": item.item_type.name,
        },
        "policies": [
            {
                "id": pid,
                "name": catalog.policies[pid].name,
                "penalty": catalog.policies[pid].penalty,
            }
            for pid in dict.fromkeys(request.policy_ids)
        ],
        "rules": [{"id": r.id, "name": r.name} for r in request.rules],
        "custom": {**item.action.body, **item.parameters, **request.custom_extra},
    }
    if request.actor is not None:
        payload["actorEmail"] = request.actor.email
        if request.note:
            payload["actorNote"] = request.note
    if item.user is not None:
        payload["creator"] = item.user.as_wire()
    if request.decision_reason:
        payload["decisionReason"] = request.decision_reason
    if strike_count is not None:
        payload["userStrikeCount"] = strike_count
    return payload


def _builtin(item: _Prepared, execution: ActionExecution) -> None:
    """Run a built-in's handler (in a savepoint: a refusal leaves nothing half-written).
    When it cannot act, a caller who waits for an answer gets an ActionError; automated
    sources record the reason on the execution instead."""
    request = item.request
    registered = builtin(item.action.id)
    try:
        if registered.needs_user and item.user is None:
            raise BuiltinRefused(
                f"{request.item.item_type_id}/{request.item.item_id} has no known author "
                "(no creatorId role value in its latest submission).",
                title="Item has no author",
            )
        with transaction.atomic():
            registered.handler(
                BuiltinCall(
                    action_id=item.action.id,
                    item=request.item,
                    submission_id=item.submission_id,
                    user=item.user,
                    source=request.source,
                    policy_ids=tuple(request.policy_ids),
                    signal_score=request.signal_score,
                )
            )
    except BuiltinRefused as refused:
        if request.source not in AUTOMATED:
            raise ActionError(refused.title, refused.reason, refused.pointer) from None
        execution.refused_reason = refused.reason
        execution.save(update_fields=["refused_reason"])


def encode_body(payload: dict[str, Any]) -> bytes:
    """The one serialisation of a webhook body: sorted keys, compact, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def create_delivery(
    event: DeliveryEvent, url: str, headers: dict[str, Any], payload: dict[str, Any]
) -> Delivery:
    """Put one webhook in the outbox (appeal decision, ignore, NCMEC...). Call inside the
    transaction that decides it, so the delivery exists if and only if the decision does."""
    delivery = Delivery(event=event, url=url, headers=dict(headers), body=encode_body(payload))
    _outbox([delivery])
    return delivery


def _outbox(deliveries: list[Delivery]) -> None:
    """Store the deliveries and defer their sending, in batches, in the caller's transaction."""
    if not deliveries:
        return
    Delivery.objects.bulk_create(deliveries)
    send_later([str(d.id) for d in deliveries])


def resend(delivery_ids: Sequence[Any]) -> int:
    """Send deliveries again from the start of the retry schedule, with the same delivery ids.
    Delivered ones are left alone. Returns how many were re-sent."""
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update()
            .filter(pk__in=delivery_ids)
            .exclude(status=DeliveryStatus.DELIVERED)
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=rows).update(
            status=DeliveryStatus.PENDING,
            round_attempts=0,
            next_attempt_at=timezone.now(),
            updated_at=timezone.now(),
        )
        send_later([str(pk) for pk in rows])
    return len(rows)


def resend_dead() -> int:
    """Re-send every DEAD delivery."""
    ids = Delivery.objects.filter(status=DeliveryStatus.DEAD).values_list("pk", flat=True)
    return resend(list(ids))


def run_api_action(
    action_id: str,
    item: ItemRef,
    policy_ids: list[str],
    actor_id: str | None,
    parameters: dict[str, Any],
    note: str,
) -> ActionExecution:
    """POST /api/v1/actions: one action like a manual one (no rules), committed at once."""
    actor = None
    if actor_id:
        by_id = actor_id.isdigit() and len(actor_id) <= 18  # fits a bigint
        lookup = {"pk": int(actor_id)} if by_id else {"email__iexact": actor_id}
        actor = User.objects.filter(**lookup).first()
        if actor is None:
            raise ActionError("Unknown actor", f"No Coop user has the id {actor_id!r}.", "/actorId")
    request = ActionRequest(
        action_id=action_id,
        item=item,
        source=ExecutionSource.API,
        policy_ids=policy_ids,
        parameters=parameters,
        actor=actor,
        note=note,
    )
    with transaction.atomic():
        return execute_actions([request])[0]
