"""Everything the job page shows, gathered in a fixed, small number of queries (review.md,
"The job view shows"). Plain dataclasses, no HTML: the console renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog.models import Action, ItemKind, ItemType, Policy
from coop.catalog.org_settings import org_settings
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution
from coop.enforcement.strikes import user_strike_total
from coop.ingest.models import ItemSubmission
from coop.ingest.store import latest_for_each
from coop.review.claims import holds_lease
from coop.review.comments import comments_for
from coop.review.models import Appeal, Comment, Job, JobKind, JobStatus, Queue, Report
from coop.review.redaction import redacted, redacted_matches, visible_data, visible_fields
from coop.review.skips import may_skip
from coop.review.visibility import (
    child_safety_queue_id,
    may_move_to,
    visible_executions,
    visible_jobs,
)
from coop.rules.models import Rule, RuleExecution

THREAD_RADIUS = 10
THREAD_SCAN = 1000
AUTHOR_ITEMS = 10
PREVIOUS_ACTIONS = 50
REPORTS_PER_PAGE = 50  # the job page's report history, one page at a time
MAX_REPORT_POLICIES = 100
RULE_HITS = 50


@dataclass
class ItemView:
    ref: ItemRef
    item_type: ItemType | None
    fields: list[dict[str, Any]]  # the item type's schema fields, in order
    data: dict[str, Any]  # the latest submission's data ({} when Coop has none)
    submission_id: int | None
    submitted_at: datetime | None
    created_at: str | None  # the createdAt role value, when there is one

    @property
    def type_name(self) -> str:
        return self.item_type.name if self.item_type else self.ref.item_type_id

    @property
    def kind(self) -> str | None:
        return self.item_type.kind if self.item_type else None


@dataclass
class AuthorView:
    ref: ItemRef
    item: ItemView | None  # the user item's latest data, when Coop has it
    strike_total: int
    previous_actions: list[ActionExecution]  # actions taken on the author, newest first
    recent_items: list[ItemSubmission]  # the author's last submissions, newest first


@dataclass
class ThreadEntry:
    submission: ItemSubmission
    reported: bool
    current: bool  # the job's own item


@dataclass
class ReportEntry:
    id: Any
    reporter: ItemRef
    reason: str
    policy_id: str
    reported_at: datetime
    invalidated: bool


@dataclass
class RuleHit:
    rule_id: str
    rule_version: int
    rule_name: str
    submission_id: int
    at: datetime
    matched: list[dict[str, Any]]  # the passing leaves: input, signal?, score?, matchedValue?


@dataclass
class AppealView:
    appeal: Appeal
    actioned_item: ItemView
    actions_taken: list[Action | str]  # Action, or the id of an action since deleted
    violating_policies: list[Policy | str]
    reason: str
    additional_items: list[dict[str, str]]


@dataclass
class JobContext:
    job: Job
    queue: Queue
    item: ItemView
    author: AuthorView | None
    thread: list[ThreadEntry]
    reports: list[ReportEntry]  # one page of the report history, newest first
    reports_page: Page  # which page (REPORTS_PER_PAGE reports), with the total count
    rule_hits: list[RuleHit]
    item_actions: list[ActionExecution]  # actions already taken on the item, newest first
    other_jobs: list[Job]  # other pending jobs on the same item (other queues)
    policies: list[Policy]  # job policies and report policies, with text and guidelines
    comments: list[Comment]
    actions: list[Action]  # offered for the item: its type's, not hidden in the queue
    appeal: AppealView | None
    move_targets: list[Queue]
    can_skip: bool
    holds_lease: bool
    can_invalidate: bool  # EDIT_MRT_QUEUES: invalidate a reporter's reports
    review_settings: dict[str, Any] = field(default_factory=dict)


def job_context(job: Job, user: User, reports_page: int | str | None = 1) -> JobContext:
    """The job page's data. Does not check access to the job itself (callers use
    visibility.may_view_job); what it lists (other jobs, move targets) follows the same rule.
    Hidden fields are left out of every section (coop.review.redaction).

    The report history is read one page at a time (`reports_page`, REPORTS_PER_PAGE reports,
    newest first, with the total count), so a mass-report campaign cannot make a job too
    heavy to open; the thread marks the messages the reports of that page name."""
    settings = org_settings()
    ncmec_queue = child_safety_queue_id()
    ref = ItemRef(job.item_id, job.item_type_id)
    history = Report.objects.filter(job=job).order_by("-reported_at", "-created_at", "-id")
    page = Paginator(history, REPORTS_PER_PAGE).get_page(reports_page)
    reports = list(page.object_list)
    appeals = list(Appeal.objects.filter(job=job).order_by("-appealed_at"))
    latest = latest_for_each({ref} | {_ref(a) for a in appeals})
    type_ids = {job.item_type_id} | {r.item_type_id for r in latest.values()}
    item_types = ItemType.objects.in_bulk(type_ids)
    item = item_view(ref, latest.get(ref), item_types)
    author = _author(job, item, item_types, user)
    thread = thread_around(item, latest.get(ref), reports, item_types)
    policy_ids = list(
        dict.fromkeys(
            [*job.policy_ids, *_report_policies(job)]
            + [p for a in appeals for p in a.violating_policies]
        )
    )
    policies_by_id = Policy.objects.in_bulk(policy_ids)
    actions = _actions(job, item_types.get(job.item_type_id))
    return JobContext(
        job=job,
        queue=job.queue,
        item=item,
        author=author,
        thread=thread,
        reports=[
            ReportEntry(
                r.pk,
                ItemRef(r.reporter_id, r.reporter_type_id),
                r.reason,
                r.policy_id,
                r.reported_at,
                r.invalidated_at is not None,
            )
            for r in reports
        ],
        reports_page=page,
        rule_hits=_rule_hits(
            ref, item_types.get(job.item_type_id), getattr(latest.get(ref), "data", None)
        ),
        item_actions=list(
            visible_executions(
                user,
                ActionExecution.objects.filter(item_id=ref.item_id, item_type_id=ref.item_type_id),
            ).order_by("-created_at")[:PREVIOUS_ACTIONS]
        ),
        other_jobs=list(
            visible_jobs(
                user,
                Job.objects.filter(
                    item_id=job.item_id, item_type_id=job.item_type_id, status=JobStatus.PENDING
                ),
            )
            .exclude(pk=job.pk)
            .select_related("queue")
            .order_by("created_at")
        ),
        policies=[policies_by_id[p] for p in policy_ids if p in policies_by_id],
        comments=comments_for(ref),
        actions=actions,
        appeal=_appeal(appeals[0], latest, item_types) if appeals else None,
        move_targets=[
            q
            for q in Queue.objects.filter(is_appeals=job.queue.is_appeals)
            .exclude(pk=job.queue_id)
            .order_by("name")
            if may_move_to(user, q, ncmec_queue=ncmec_queue)
        ],
        can_skip=may_skip(user),
        holds_lease=holds_lease(job, user),
        can_invalidate=user.has_permission(Permission.EDIT_MRT_QUEUES)
        and job.kind != JobKind.APPEAL,
        review_settings=dict(settings["review"]),
    )


def _report_policies(job: Job) -> list[str]:
    """The policies the job's reports name (every report, not only the page shown)."""
    rows = (
        Report.objects.filter(job=job)
        .exclude(policy_id="")
        .values_list("policy_id", flat=True)
        .distinct()
        .order_by("policy_id")
    )
    return list(rows[:MAX_REPORT_POLICIES])


def _ref(obj: Any) -> ItemRef:
    return ItemRef(obj.item_id, obj.item_type_id)


def item_view(
    ref: ItemRef, sub: ItemSubmission | None, item_types: dict[str, ItemType]
) -> ItemView:
    """The item as reviewers see it: `sub`'s data without hidden fields (job page,
    investigation)."""
    item_type = item_types.get(ref.item_type_id)
    data = sub.data if sub is not None and isinstance(sub.data, dict) else {}
    data = visible_data(data, item_type)  # never shown to reviewers, not even as unnamed data
    created_field = (item_type.roles or {}).get("createdAt") if item_type else None
    created = data.get(created_field) if created_field else None
    return ItemView(
        ref=ref,
        item_type=item_type,
        fields=visible_fields(item_type),
        data=data,
        submission_id=sub.pk if sub else None,
        submitted_at=sub.submitted_at if sub else None,
        created_at=created if isinstance(created, str) else None,
    )


def _author(
    job: Job, item: ItemView, item_types: dict[str, ItemType], user: User
) -> AuthorView | None:
    """The user the job is about: the item itself (USER items), else its creator."""
    if item.kind == ItemKind.USER:
        ref = item.ref
        user_view: ItemView | None = item
    else:
        latest = ItemSubmission.objects.filter(pk=item.submission_id).first()
        if latest is None or not latest.creator_id or not latest.creator_type_id:
            return None
        ref = ItemRef(latest.creator_id, latest.creator_type_id)
        sub = latest_for_each({ref}).get(ref)
        if ref.item_type_id not in item_types:
            item_types.update(ItemType.objects.in_bulk([ref.item_type_id]))
        user_view = item_view(ref, sub, item_types) if sub is not None else None
    return AuthorView(
        ref=ref,
        item=user_view,
        strike_total=user_strike_total(ref),
        previous_actions=list(
            visible_executions(
                user,
                ActionExecution.objects.filter(item_id=ref.item_id, item_type_id=ref.item_type_id),
            ).order_by("-created_at")[:PREVIOUS_ACTIONS]
        ),
        recent_items=_redacted(
            ItemSubmission.objects.filter(
                creator_id=ref.item_id, creator_type_id=ref.item_type_id
            ).order_by("-submitted_at", "-id")[:AUTHOR_ITEMS],
            item_types,
        ),
    )


def _sort_key(sub: ItemSubmission, item_types: dict[str, ItemType]) -> tuple[datetime, int]:
    item_type = item_types.get(sub.item_type_id)
    field_name = (item_type.roles or {}).get("createdAt") if item_type else None
    value = sub.data.get(field_name) if field_name and isinstance(sub.data, dict) else None
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
            if at.tzinfo is not None:
                return at, sub.pk
        except ValueError:
            pass
    return sub.submitted_at, sub.pk


def thread_around(
    item: ItemView,
    sub: ItemSubmission | None,
    reports: list[Report],
    item_types: dict[str, ItemType],
) -> list[ThreadEntry]:
    """The thread around the item: the latest version of each message of the same thread in
    createdAt order (submission time when there is none), up to 10 before and 10 after it.
    Without a thread id, the thread the reports gave. Reported messages are marked."""
    reported = {item.ref}
    for r in reports:
        reported.update(ItemRef(i["id"], i["typeId"]) for i in r.items_in_thread)
    if sub is not None and sub.thread_id and sub.thread_type_id:
        rows = list(
            ItemSubmission.objects.filter(
                thread_id=sub.thread_id, thread_type_id=sub.thread_type_id
            )
            .order_by("item_type_id", "item_id", "-submitted_at", "-id")
            .distinct("item_type_id", "item_id")[:THREAD_SCAN]
        )
    else:
        given = [ItemRef(i["id"], i["typeId"]) for r in reports[:1] for i in r.thread]
        if not given:
            return []
        rows = list(latest_for_each(set(given) | {item.ref}).values())
    missing = {s.item_type_id for s in rows} - set(item_types)
    if missing:
        item_types.update(ItemType.objects.in_bulk(missing))
    rows.sort(key=lambda s: _sort_key(s, item_types))
    index = next((i for i, s in enumerate(rows) if _ref(s) == item.ref), None)
    if index is not None:
        rows = rows[max(0, index - THREAD_RADIUS) : index + THREAD_RADIUS + 1]
    else:
        rows = rows[-(2 * THREAD_RADIUS + 1) :]
    return [
        ThreadEntry(redacted(s, item_types), _ref(s) in reported, _ref(s) == item.ref) for s in rows
    ]


def _redacted(subs: Any, item_types: dict[str, ItemType]) -> list[ItemSubmission]:
    """The submissions for display, without hidden fields (their item types loaded)."""
    subs = list(subs)
    missing = {s.item_type_id for s in subs} - set(item_types)
    if missing:
        item_types.update(ItemType.objects.in_bulk(missing))
    return [redacted(s, item_types) for s in subs]


def _passing_leaves(node: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        if node.get("outcome") == "PASSED" and "input" in node and "conditions" not in node:
            out.append(
                {k: node[k] for k in ("input", "signal", "score", "matchedValue") if k in node}
            )
        for value in node.values():
            if isinstance(value, dict | list):
                _passing_leaves(value, out)
    elif isinstance(node, list):
        for value in node:
            _passing_leaves(value, out)


def _rule_hits(ref: ItemRef, item_type: ItemType | None, data: Any) -> list[RuleHit]:
    """The rules that fired on the item; matched values of hidden fields left out (`data`:
    the item's latest data, hidden fields included, to recognise them)."""
    rows = list(
        RuleExecution.objects.filter(
            item_id=ref.item_id, item_type_id=ref.item_type_id, outcome="PASSED"
        ).order_by("-created_at")[:RULE_HITS]
    )
    names = dict(Rule.objects.filter(pk__in={r.rule_id for r in rows}).values_list("id", "name"))
    hits = []
    for r in rows:
        matched: list[dict[str, Any]] = []
        _passing_leaves(r.result, matched)
        matched = redacted_matches(matched, item_type, data)
        hits.append(
            RuleHit(
                r.rule_id,
                r.rule_version,
                names.get(r.rule_id, r.rule_id),
                r.submission_id,
                r.created_at,
                matched,
            )
        )
    return hits


def _actions(job: Job, item_type: ItemType | None) -> list[Action]:
    """The actions a reviewer may take on the job's item: those for its type (or for every
    type), built-ins included, minus the queue's hidden actions."""
    hidden = set(job.queue.hidden_actions)
    type_id = item_type.id if item_type else job.item_type_id
    return [
        a
        for a in Action.objects.filter(
            Q(item_types__contains=[type_id]) | Q(item_types=[])
        ).order_by("builtin", "name")
        if a.id not in hidden
    ]


def _appeal(
    appeal: Appeal, latest: dict[ItemRef, ItemSubmission], item_types: dict[str, ItemType]
) -> AppealView:
    ref = _ref(appeal)
    actions = Action.objects.in_bulk(appeal.actions_taken)
    policies = Policy.objects.in_bulk(appeal.violating_policies)
    return AppealView(
        appeal=appeal,
        actioned_item=item_view(ref, latest.get(ref), item_types),
        actions_taken=[actions.get(a, a) for a in appeal.actions_taken],
        violating_policies=[policies.get(p, p) for p in appeal.violating_policies],
        reason=appeal.reason,
        additional_items=list(appeal.additional_items),
    )
