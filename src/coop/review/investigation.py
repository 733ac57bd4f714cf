"""Investigation (review.md, Investigation): everything Coop knows about one item, or about
one IP address, for one viewer.

Every section is bounded (a page or a fixed number of rows, newest first) and read through
the Review Console's own rules: hidden fields never shown (coop.review.redaction, through
`context.item_view`), child-safety jobs, comments and `coop.ncmec` executions hidden from
users without VIEW_CHILD_SAFETY_DATA (coop.review.visibility). An item Coop does not store
is asked of the platform through partial items when they are configured, and marked as
fetched; when that fails, the reason is shown where the item would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from coop.accounts.models import User
from coop.catalog import builtins
from coop.catalog.models import Action, ItemKind, ItemType
from coop.catalog.org_settings import org_settings
from coop.core.enums import DecisionSource, ExecutionSource
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution, StrikeRecord
from coop.enforcement.services import ActionError, ActionRequest, execute_actions
from coop.enforcement.strikes import user_strike_total
from coop.ingest.models import ItemSubmission
from coop.ingest.store import history_of
from coop.integrations import partial_items
from coop.review.audit import record_manual_actions
from coop.review.comments import comments_for
from coop.review.context import ItemView, ThreadEntry, item_view, thread_around
from coop.review.decisions import ActionChoice
from coop.review.models import Comment, Job
from coop.review.redaction import redacted, redacted_matches
from coop.review.visibility import may_see_child_safety, visible_executions, visible_jobs
from coop.rules.models import Rule, RuleExecution

HISTORY_PAGE = 20
AUTHOR_ITEMS_PAGE = 20
IP_ITEMS = 50
IP_PAGE = 50
MAX_IP_ITEMS = 200
EXECUTIONS = 50
ACTIONS = 50
STRIKES = 50
JOBS = 50
MAX_TYPES = 20  # item types one id may be stored under, for an id given without a type


@dataclass
class TreeRow:
    """One node of a rule's condition tree, flattened with its depth for display."""

    depth: int
    outcome: str
    text: str  # "ALL", or the leaf: input, signal, score, matched value
    error: str = ""


@dataclass
class RuleRun:
    execution: RuleExecution
    rule_name: str
    tree: list[TreeRow]


@dataclass
class AuthorSection:
    ref: ItemRef
    item: ItemView | None
    strike_total: int
    strikes: list[StrikeRecord]  # newest first, expired ones included (marked by the page)
    actions: list[ActionExecution]
    items: Page  # the author's submissions, newest first


@dataclass
class Investigation:
    ref: ItemRef
    item: ItemView | None  # None: neither stored nor fetched
    fetched: bool  # the data came from the platform (partial items) just now
    fetch_error: str
    history: Page
    author: AuthorSection | None
    rule_runs: list[RuleRun]
    actions: list[ActionExecution]
    thread: list[ThreadEntry]
    same_ip: list[ItemSubmission]
    ip_address: str | None
    comments: list[Comment]
    jobs: list[Job]
    item_types: dict[str, ItemType] = field(default_factory=dict)


def types_storing(item_id: str) -> list[str]:
    """The item types Coop stores an item with this id under (bounded). Asked per type, so
    the item index (type, id) answers each, not a scan of the store."""
    found = []
    for type_id in ItemType.objects.order_by("pk").values_list("pk", flat=True):
        if ItemSubmission.objects.filter(item_type_id=type_id, item_id=item_id).exists():
            found.append(type_id)
            if len(found) == MAX_TYPES:
                break
    return found


def investigate(
    user: User,
    ref: ItemRef,
    *,
    history_page: int | str | None = 1,
    author_page: int | str | None = 1,
) -> Investigation:
    """The investigation of one item for `user`."""
    item_types = ItemType.objects.in_bulk()
    latest = history_of(ref).first()
    fetched, fetch_error = False, ""
    if latest is None and partial_items.configured() and ref.item_type_id in item_types:
        answer = partial_items.fetch_items([ref])
        if ref in answer.items:
            fetched = True
            latest = history_of(ref).first()
        else:
            fetch_error = answer.errors.get(ref) or answer.error or ""
    item = item_view(ref, latest, item_types) if latest is not None else None
    history = Paginator(_RedactedSequence(history_of(ref), item_types), HISTORY_PAGE).get_page(
        history_page
    )
    author_ref = _author_ref(ref, latest, item_types)
    return Investigation(
        ref=ref,
        item=item,
        fetched=fetched,
        fetch_error=fetch_error,
        history=history,
        author=_author(user, author_ref, ref, item_types, author_page) if author_ref else None,
        rule_runs=_rule_runs(ref, item_types.get(ref.item_type_id), latest),
        actions=_actions(user, ref),
        thread=thread_around(item, latest, [], item_types) if item is not None else [],
        same_ip=_by_ip(latest.ip_address, exclude=ref, item_types=item_types)
        if latest is not None and latest.ip_address
        else [],
        ip_address=latest.ip_address if latest is not None else None,
        comments=_comments(user, ref),
        jobs=list(
            visible_jobs(
                user, Job.objects.filter(item_id=ref.item_id, item_type_id=ref.item_type_id)
            )
            .select_related("queue")
            .order_by("-created_at")[:JOBS]
        ),
        item_types=item_types,
    )


def by_ip(ip_address: str, page: int | str | None = 1) -> tuple[Page, dict[str, ItemType]]:
    """The latest submission of each item sent from `ip_address`, newest first (the first
    MAX_IP_ITEMS items, a page at a time)."""
    item_types = ItemType.objects.in_bulk()
    rows = _by_ip(ip_address, exclude=None, item_types=item_types, limit=MAX_IP_ITEMS)
    return Paginator(rows, IP_PAGE).get_page(page), item_types


class _RedactedSequence:
    """A queryset seen through `redacted`, lazily: the paginator counts and slices the
    queryset, so only the page shown is read."""

    def __init__(self, queryset: Any, item_types: dict[str, ItemType]):
        self.queryset, self.item_types = queryset, item_types

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: Any) -> Any:
        rows = self.queryset[index]
        if isinstance(index, slice):
            return [redacted(s, self.item_types) for s in rows]
        return redacted(rows, self.item_types)


def _author_ref(
    ref: ItemRef, latest: ItemSubmission | None, item_types: dict[str, ItemType]
) -> ItemRef | None:
    """The user the item is about: itself for USER items, else its latest submission's creator."""
    item_type = item_types.get(ref.item_type_id)
    if item_type is not None and item_type.kind == ItemKind.USER:
        return ref
    if latest is not None and latest.creator_id and latest.creator_type_id:
        return ItemRef(latest.creator_id, latest.creator_type_id)
    return None


def _author(
    user: User,
    ref: ItemRef,
    item: ItemRef,
    item_types: dict[str, ItemType],
    page: int | str | None,
) -> AuthorSection:
    """The user, their strikes, the actions on them and their other items (`item` left out)."""
    latest = history_of(ref).first()
    items = (
        ItemSubmission.objects.filter(creator_id=ref.item_id, creator_type_id=ref.item_type_id)
        .exclude(item_id=item.item_id, item_type_id=item.item_type_id)
        .order_by("-submitted_at", "-id")
    )
    return AuthorSection(
        ref=ref,
        item=item_view(ref, latest, item_types) if latest is not None else None,
        strike_total=user_strike_total(ref),
        strikes=list(
            StrikeRecord.objects.filter(user_id=ref.item_id, user_type_id=ref.item_type_id)
            .select_related("execution")
            .order_by("-created_at")[:STRIKES]
        ),
        actions=_actions(user, ref),
        items=Paginator(_RedactedSequence(items, item_types), AUTHOR_ITEMS_PAGE).get_page(page),
    )


def _actions(user: User, ref: ItemRef) -> list[ActionExecution]:
    return list(
        visible_executions(
            user,
            ActionExecution.objects.filter(item_id=ref.item_id, item_type_id=ref.item_type_id),
        ).order_by("-created_at")[:ACTIONS]
    )


def _comments(user: User, ref: ItemRef) -> list[Comment]:
    """The item's comments, except those written on jobs the viewer may not see."""
    hidden = set(
        Job.objects.filter(item_id=ref.item_id, item_type_id=ref.item_type_id)
        .exclude(pk__in=visible_jobs(user).values("pk"))
        .values_list("pk", flat=True)
    )
    return [c for c in comments_for(ref) if c.job_id not in hidden]


def _by_ip(
    ip_address: str,
    *,
    exclude: ItemRef | None,
    item_types: dict[str, ItemType],
    limit: int = IP_ITEMS,
) -> list[ItemSubmission]:
    """The latest submission of each item sent from the address, newest first (bounded)."""
    subs = ItemSubmission.objects.filter(ip_address=ip_address)
    if exclude is not None:
        subs = subs.exclude(Q(item_id=exclude.item_id, item_type_id=exclude.item_type_id))
    # The newest submissions from the address, then one per item (bounded before DISTINCT).
    recent = list(subs.order_by("-submitted_at", "-id")[: limit * 5])
    seen: set[ItemRef] = set()
    rows = []
    for sub in recent:
        key = ItemRef(sub.item_id, sub.item_type_id)
        if key in seen:
            continue
        seen.add(key)
        rows.append(redacted(sub, item_types))
        if len(rows) == limit:
            break
    return rows


def _rule_runs(
    ref: ItemRef, item_type: ItemType | None, latest: ItemSubmission | None
) -> list[RuleRun]:
    """Every rule execution on the item, newest first (bounded), each with its tree."""
    rows = list(
        RuleExecution.objects.filter(item_id=ref.item_id, item_type_id=ref.item_type_id).order_by(
            "-created_at"
        )[:EXECUTIONS]
    )
    names = dict(Rule.objects.filter(pk__in={r.rule_id for r in rows}).values_list("id", "name"))
    data = latest.data if latest is not None else None
    return [
        RuleRun(r, names.get(r.rule_id, r.rule_id), _tree(r.result, item_type, data)) for r in rows
    ]


def _tree(root: Any, item_type: ItemType | None, data: Any) -> list[TreeRow]:
    """The condition tree as rows, depth first (iterative: a logged tree may be deep)."""
    out: list[TreeRow] = []
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        outcome = "SKIPPED" if node.get("skipped") else str(node.get("outcome", ""))
        if "op" in node:
            out.append(TreeRow(depth, outcome, str(node["op"]).upper()))
            children = node.get("children") or []
            stack.extend((child, depth + 1) for child in reversed(children))
            continue
        (leaf,) = redacted_matches([node], item_type, data)
        out.append(TreeRow(depth, outcome, _leaf_text(leaf), str(leaf.get("error") or "")))
    return out


def _leaf_text(leaf: dict[str, Any]) -> str:
    source = leaf.get("input")
    parts = [source["field"] if isinstance(source, dict) and "field" in source else str(source)]
    if leaf.get("signal"):
        parts.append(str(leaf["signal"]))
    if "score" in leaf:
        parts.append(f"score {leaf['score']}")
    matched = leaf.get("matchedValue")
    if isinstance(matched, dict):
        shown = matched.get("text") or matched.get("entry") or matched.get("value")
        if shown not in (None, ""):
            parts.append(f"matched “{shown}”")
    return " · ".join(parts)


def is_expired(strike: StrikeRecord, now: datetime | None = None) -> bool:
    return strike.expires_at <= (now or timezone.now())


# ---------------------------------------------------------------------------------------------
# Take action on this item


class ActionRefusedError(ValueError):
    """A manual action that cannot run as chosen; `field` names the form field."""

    def __init__(self, message: str, field: str = "actions"):
        super().__init__(message)
        self.message, self.field = message, field


def offered_actions(user: User, item_type_id: str) -> list[Action]:
    """The actions one may take on an item of the type from investigation: its type's and
    those for every type, built-ins included; Enqueue to NCMEC only for child-safety users."""
    actions = Action.objects.filter(
        Q(item_types__contains=[item_type_id]) | Q(item_types=[])
    ).order_by("builtin", "name")
    return [a for a in actions if a.id != builtins.NCMEC or may_see_child_safety(user)]


def take_action(
    user: User, ref: ItemRef, choices: list[ActionChoice], reason: str, note: str
) -> list[ActionExecution]:
    """Execute the chosen actions on the item (source MANUAL) and log them in Recent
    Decisions (source INVESTIGATION), in one transaction: all or nothing."""
    if not choices:
        raise ActionRefusedError("Choose at least one action.")
    offered = {a.id for a in offered_actions(user, ref.item_type_id)}
    for choice in choices:
        if choice.action_id not in offered:
            raise ActionRefusedError(f"The action {choice.action_id!r} is not offered here.")
    reason, note = reason.strip(), note.strip()
    if org_settings()["review"].get("requirePolicyForDecisions") and any(
        not c.policy_ids for c in choices
    ):
        raise ActionRefusedError("Choose a policy for each action.")
    if org_settings()["review"].get("requireReasonOnAction") and not reason:
        raise ActionRefusedError("A reason is required.", "reason")
    requests = [
        ActionRequest(
            action_id=c.action_id,
            item=ref,
            source=ExecutionSource.MANUAL,
            policy_ids=list(dict.fromkeys(c.policy_ids)),
            parameters=dict(c.parameters),
            actor=user,
            note=note,
            decision_reason=reason,
        )
        for c in choices
    ]
    try:
        with transaction.atomic():
            executions = execute_actions(requests)[: len(requests)]
            record_manual_actions(
                executions, DecisionSource.INVESTIGATION, user, reason=reason, note=note
            )
    except ActionError as exc:
        raise ActionRefusedError(f"{exc.title}: {exc.detail}") from None
    return executions
