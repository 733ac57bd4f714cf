"""Deciding review jobs (review.md, Decisions): one transaction per decision.

`decide` locks the job row (`SELECT ... FOR UPDATE`), checks everything on the server, then
commits together: the job's closing (or its move), the action executions with their callback
deliveries and strikes (one `execute_actions` call), the appeal-decision and ignore callbacks,
the NCMEC job (Enqueue to NCMEC) or report (Submit to NCMEC), the audit `Decision` row and
the "clear other reports" sweep. Two
concurrent decides on one job serialise on the row lock; the second sees the job closed and
gets `AlreadyDecidedError`, with nothing changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog import builtins
from coop.catalog.models import Action, ItemType, Policy
from coop.catalog.org_settings import ncmec_queue_id, org_settings, stored_data_subquery
from coop.core.items import ItemRef
from coop.enforcement.builtin_actions import BuiltinCall, BuiltinRefused, builtin
from coop.enforcement.models import DeliveryEvent, ExecutionSource
from coop.enforcement.services import ActionError, ActionRequest, create_delivery, execute_actions
from coop.review.claims import holds_lease
from coop.review.clearing import clear_other_reports
from coop.review.closing import action_component, close_job, record_decision, wire
from coop.review.errors import AlreadyDecidedError, DecisionRefusedError
from coop.review.items import job_item, subject_user
from coop.review.models import (
    Decision,
    DecisionType,
    Job,
    JobKind,
    JobStatus,
    Queue,
    Report,
)
from coop.review.visibility import may_move_to, may_work_job


@dataclass
class ActionChoice:
    action_id: str
    policy_ids: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    # None: the job's item; another ItemRef: a related action on another item of the job.
    item: ItemRef | None = None


@dataclass
class DecisionInput:
    actions: list[ActionChoice] = field(default_factory=list)
    ignore: bool = False
    move_to_queue: str | None = None
    enqueue_ncmec: bool = False
    appeal: Literal["ACCEPT", "REJECT"] | None = None
    reason: str = ""
    note: str = ""
    # Submit to NCMEC (NCMEC jobs only): coop.childsafety's builder of the NCMEC_REPORT
    # component, run in the decision's transaction with the job locked; it may raise
    # DecisionRefusedError, and then nothing is written.
    ncmec_report: Callable[[Job], dict[str, Any]] | None = None


def decide(job_id: uuid.UUID | str, user: User, decision: DecisionInput) -> Decision:
    """Check and commit one decision on a job; returns its audit record.

    Raises DecisionRefusedError (AlreadyDecidedError when the job is no longer pending); then
    nothing has changed.
    """
    with transaction.atomic():
        job = _locked_job(job_id, user)
        if job is None:
            raise DecisionRefusedError("This job does not exist.")
        if job.status != JobStatus.PENDING:
            raise AlreadyDecidedError("This job has already been decided.")
        stored = job.org_settings if isinstance(job.org_settings, dict) else {}
        review_settings = org_settings(stored)
        ncmec_queue = ncmec_queue_id(stored)
        if not may_work_job(user, job, ncmec_queue=ncmec_queue, is_reviewer=job.is_reviewer):
            raise DecisionRefusedError("You are not allowed to review jobs of this queue.")
        if not holds_lease(job, user) and not user.has_permission(Permission.EDIT_MRT_QUEUES):
            raise DecisionRefusedError(
                "You do not hold this job any more: another reviewer has claimed it."
            )
        checked = _check(job, user, decision, review_settings, ncmec_queue)
        return _commit(job, user, decision, checked, review_settings)


def _locked_job(job_id: uuid.UUID | str, user: User) -> Job | None:
    """The job, its row locked, with its queue and submission, whether `user` is one of the
    queue's reviewers (`is_reviewer`), whether a report came with `csam: true` (`has_csam`,
    for the visibility rule) and the stored organisation settings (`org_settings`):
    one round trip for everything `decide` checks."""
    reviewer = Queue.reviewers.through.objects.filter(
        queue_id=OuterRef("queue_id"), user_id=user.pk
    )
    return (
        Job.objects.select_for_update(of=("self",))
        .select_related("queue", "submission")
        .annotate(
            is_reviewer=Exists(reviewer),
            has_csam=Exists(Report.objects.filter(job_id=OuterRef("pk"), csam=True)),
            org_settings=stored_data_subquery(),
        )
        .filter(pk=job_id)
        .first()
    )


@dataclass
class _Checked:
    on_item: list[ActionChoice]
    related: list[ActionChoice]
    move_target: Queue | None
    ncmec_user: ItemRef | None


def _check(
    job: Job,
    user: User,
    d: DecisionInput,
    review_settings: dict[str, Any],
    ncmec_queue: str | None,
) -> _Checked:
    item = job_item(job)
    on_item = [a for a in d.actions if a.item is None or a.item == item]
    related = [a for a in d.actions if a.item is not None and a.item != item]
    _check_composition(job, d, bool(on_item))
    _check_actions(job, on_item, related, review_settings)
    _check_reason(d, review_settings)
    target = _check_move(job, user, d.move_to_queue, ncmec_queue) if d.move_to_queue else None
    ncmec_user = _check_ncmec(job) if d.enqueue_ncmec else None
    return _Checked(on_item, related, target, ncmec_user)


def _check_composition(job: Job, d: DecisionInput, acts_on_item: bool) -> None:
    """Which components may go together."""
    if job.kind == JobKind.NCMEC:
        others = d.actions or d.move_to_queue or d.enqueue_ncmec or d.appeal
        if others or d.ignore == (d.ncmec_report is not None):
            raise DecisionRefusedError("An NCMEC job is closed with Submit to NCMEC or Ignore.")
        return
    if d.ncmec_report is not None:
        raise DecisionRefusedError("Only NCMEC jobs are submitted to NCMEC.")
    if not (d.actions or d.ignore or d.move_to_queue or d.enqueue_ncmec or d.appeal):
        raise DecisionRefusedError(
            "Choose a decision: an action, ignore, move, NCMEC or an appeal."
        )
    if job.kind == JobKind.APPEAL:
        if d.appeal is None:
            raise DecisionRefusedError("An appeal job needs Overturn or Uphold.", "appeal")
        if d.ignore or d.move_to_queue or d.enqueue_ncmec:
            raise DecisionRefusedError(
                "An appeal decision cannot be combined with ignore, move or NCMEC.", "appeal"
            )
    elif d.appeal is not None:
        raise DecisionRefusedError("Only appeal jobs take an appeal decision.", "appeal")
    if d.appeal not in (None, "ACCEPT", "REJECT"):
        raise DecisionRefusedError("The appeal decision is ACCEPT or REJECT.", "appeal")
    if d.ignore and (acts_on_item or d.move_to_queue or d.enqueue_ncmec):
        raise DecisionRefusedError(
            "Ignore closes the job without action: only related actions may go with it.",
            "ignore",
        )
    if d.move_to_queue and d.enqueue_ncmec:
        raise DecisionRefusedError("Move and Enqueue to NCMEC cannot be combined.", "move_to_queue")


def _check_reason(d: DecisionInput, review_settings: dict[str, Any]) -> None:
    if d.reason.strip():
        return
    ignore_only = d.ignore and not d.actions
    flag = "requireReasonOnIgnore" if ignore_only else "requireReasonOnAction"
    if review_settings["review"][flag]:
        raise DecisionRefusedError("A decision reason is required.", "reason")


def _check_move(job: Job, user: User, queue_id: str, ncmec_queue: str | None) -> Queue:
    target = Queue.objects.filter(pk=queue_id).first()
    if target is None:
        raise DecisionRefusedError(f"No queue has the id {queue_id!r}.", "move_to_queue")
    if target.pk == job.queue_id:
        raise DecisionRefusedError("The job is already in this queue.", "move_to_queue")
    if target.is_appeals != job.queue.is_appeals:
        message = (
            "An appeal job can only move to another appeals queue."
            if job.queue.is_appeals
            else "This job cannot move to an appeals queue."
        )
        raise DecisionRefusedError(message, "move_to_queue")
    if not may_move_to(user, target, ncmec_queue=ncmec_queue):
        raise DecisionRefusedError(
            "Moving a job into the child-safety queue needs the VIEW_CHILD_SAFETY_DATA permission.",
            "move_to_queue",
        )
    return target


def _check_ncmec(job: Job) -> ItemRef:
    ncmec_user = subject_user(job)
    if ncmec_user is None:
        raise DecisionRefusedError(
            f"{job.item_type_id}/{job.item_id} has no known author (no creatorId role "
            "value in its latest submission): it cannot be sent to NCMEC review.",
            "enqueue_ncmec",
        )
    return ncmec_user


def _check_actions(
    job: Job,
    on_item: list[ActionChoice],
    related: list[ActionChoice],
    review_settings: dict[str, Any],
) -> None:
    choices = on_item + related
    if not choices:
        return
    actions = Action.objects.in_bulk({c.action_id for c in choices})
    item_types = ItemType.objects.in_bulk(
        {job.item_type_id} | {c.item.item_type_id for c in related if c.item}
    )
    policies = set(
        Policy.objects.filter(id__in={p for c in choices for p in c.policy_ids}).values_list(
            "id", flat=True
        )
    )
    hidden = set(job.queue.hidden_actions)
    for c in choices:
        action = actions.get(c.action_id)
        type_id = c.item.item_type_id if c.item else job.item_type_id
        if action is None:
            raise DecisionRefusedError(f"No action has the id {c.action_id!r}.", "actions")
        if c.action_id in hidden:
            raise DecisionRefusedError(
                f"The action {action.name!r} is not offered here.", "actions"
            )
        if type_id not in item_types:
            raise DecisionRefusedError(f"No item type has the id {type_id!r}.", "actions")
        if action.item_types and type_id not in action.item_types:
            raise DecisionRefusedError(
                f"The action {action.name!r} does not apply to items of type {type_id!r}.",
                "actions",
            )
        for policy_id in c.policy_ids:
            if policy_id not in policies:
                raise DecisionRefusedError(f"No policy has the id {policy_id!r}.", "actions")
        if (
            review_settings["review"]["requirePolicyForDecisions"]
            and not c.policy_ids
            and c.action_id not in builtins.BUILTIN_ACTIONS
        ):
            raise DecisionRefusedError(
                f"Choose at least one policy for the action {action.name!r}.", "actions"
            )


# `custom.reportHistory` holds the newest REPORT_HISTORY_LIMIT valid reports; `reportCount`
# counts them all (docs/webhooks.md), so a mass-report campaign cannot bloat the callbacks.
REPORT_HISTORY_LIMIT = 100


def _report_custom(job: Job, reason: str) -> dict[str, Any]:
    """What reviews add to the action callback's `custom` on a reported item."""
    valid = Report.objects.filter(job=job, invalidated_at__isnull=True)
    history = report_history(job)
    if not history:
        return {}
    count = len(history) if len(history) < REPORT_HISTORY_LIMIT else valid.count()
    custom: dict[str, Any] = {"reportHistory": history, "reportCount": count}
    if reason:
        custom["reason"] = reason
    return custom


def report_history(job: Job, limit: int = REPORT_HISTORY_LIMIT) -> list[dict[str, Any]]:
    """`custom.reportHistory` of the action callback: the newest `limit` valid reports."""
    out = []
    rows = Report.objects.filter(job=job, invalidated_at__isnull=True).order_by(
        "-reported_at", "-created_at", "-id"
    )
    for r in rows.values_list("reason", "reporter_id", "reporter_type_id")[:limit]:
        entry: dict[str, Any] = {"reporter": {"id": r[1], "typeId": r[2]}}
        if r[0]:
            entry["reason"] = r[0]
        out.append(entry)
    return out


def _commit(
    job: Job,
    user: User,
    d: DecisionInput,
    checked: _Checked,
    review_settings: dict[str, Any],
) -> Decision:
    now = timezone.now()
    item = job_item(job)
    reason = d.reason.strip()
    components = _execute(job, user, d, checked, item, reason)
    close = True
    if d.ignore:
        components.append({"type": DecisionType.IGNORE})
        _ignore_callback(job, review_settings["review"]["ignoreCallbackUrl"])
    if d.appeal is not None:
        components.append(_appeal(job, d.appeal, review_settings["appeals"]))
    if d.ncmec_report is not None:
        components.append(d.ncmec_report(job))
    if checked.ncmec_user is not None:
        components.append(_enqueue_ncmec(job, item, checked.ncmec_user))
    if checked.move_target is not None:
        component, close = _move(job, checked.move_target, now)
        components.append(component)
    components = [wire(c) for c in components]
    record = record_decision(job, user, components, reason, d.note.strip(), now)
    if close:
        close_job(job, now)
    if checked.on_item:
        clear_other_reports(job, user, checked.on_item, reason, now)
    return record


def _execute(
    job: Job, user: User, d: DecisionInput, checked: _Checked, item: ItemRef, reason: str
) -> list[dict[str, Any]]:
    """Run the decision's actions (one execute_actions call: one execution event, so one
    strike per user); their components, with the execution ids."""
    components: list[dict[str, Any]] = []
    requests: list[ActionRequest] = []
    custom_extra = _report_custom(job, reason) if checked.on_item else {}
    for choice in checked.on_item:
        requests.append(_request(choice, item, user, d, reason, custom_extra, job.submission_id))
        components.append(_component(choice, item, related=False))
    for choice in checked.related:
        assert choice.item is not None
        requests.append(_request(choice, choice.item, user, d, reason, {}, None))
        components.append(_component(choice, choice.item, related=True))
    try:
        executions = execute_actions(requests)
    except ActionError as e:
        raise DecisionRefusedError(f"{e.title}: {e.detail}", "actions") from e
    for component, execution in zip(components, executions, strict=False):
        component["executionIds"] = [str(execution.pk)]
    return components


def _ignore_callback(job: Job, url: str | None) -> None:
    if not url:
        return
    data = job.submission.data if job.submission is not None else {}
    create_delivery(
        DeliveryEvent.IGNORE, url, {}, {"id": job.item_id, "typeId": job.item_type_id, "data": data}
    )


def _enqueue_ncmec(job: Job, item: ItemRef, ncmec_user: ItemRef) -> dict[str, Any]:
    """Convert the job into its author's user-level NCMEC job (coop.childsafety, through the
    `coop.ncmec` built-in); refused with the reason when none can be made."""
    call = BuiltinCall(
        builtins.NCMEC, item, job.submission_id, ncmec_user, ExecutionSource.REVIEW, ()
    )
    try:
        builtin(builtins.NCMEC).handler(call)
    except BuiltinRefused as refused:
        raise DecisionRefusedError(refused.reason, "enqueue_ncmec") from None
    return {"type": DecisionType.NCMEC, "itemRef": item, "userRef": ncmec_user}


def _component(choice: ActionChoice, item: ItemRef, related: bool) -> dict[str, Any]:
    return action_component(choice.action_id, choice.policy_ids, choice.parameters, item, related)


def _request(
    choice: ActionChoice,
    item: ItemRef,
    user: User,
    d: DecisionInput,
    reason: str,
    custom_extra: dict[str, Any],
    submission_id: int | None,
) -> ActionRequest:
    return ActionRequest(
        action_id=choice.action_id,
        item=item,
        source=ExecutionSource.REVIEW,
        policy_ids=list(dict.fromkeys(choice.policy_ids)),
        parameters=dict(choice.parameters),
        actor=user,
        note=d.note.strip(),
        decision_reason=reason,
        custom_extra=dict(custom_extra),
        submission_id=submission_id,
    )


def _appeal(job: Job, outcome: str, appeals_settings: dict[str, Any]) -> dict[str, Any]:
    """The appeal-decision callback of each appeal of the job (when a URL is set)."""
    url = appeals_settings.get("callbackUrl")
    appeal_ids = []
    for appeal in job.appeals.all().order_by("appealed_at"):
        appeal_ids.append(appeal.appeal_id)
        if not url:
            continue
        payload: dict[str, Any] = {
            "appealId": appeal.appeal_id,
            "item": {"id": appeal.item_id, "typeId": appeal.item_type_id},
            "appealedBy": {"id": appeal.appealed_by_id, "typeId": appeal.appealed_by_type_id},
            "appealDecision": outcome,
        }
        if appeals_settings.get("body"):
            payload["custom"] = dict(appeals_settings["body"])
        create_delivery(
            DeliveryEvent.APPEAL_DECISION, url, appeals_settings.get("headers") or {}, payload
        )
    kind = DecisionType.APPEAL_ACCEPT if outcome == "ACCEPT" else DecisionType.APPEAL_REJECT
    return {"type": kind, "appealIds": appeal_ids}


def _move(job: Job, target: Queue, now: datetime) -> tuple[dict[str, Any], bool]:
    """Move the job (same id, reports, comments and creation time; routing is not re-run).
    If the item already waits in the target queue, the job merges into that one and closes.
    Returns the component and whether the job closes."""
    component: dict[str, Any] = {
        "type": DecisionType.MOVE,
        "fromQueue": job.queue_id,
        "toQueue": target.pk,
    }
    twin = (
        Job.objects.select_for_update()
        .filter(
            queue=target,
            status=JobStatus.PENDING,
            item_type_id=job.item_type_id,
            item_id=job.item_id,
            kind=job.kind,
        )
        .first()
    )
    if twin is not None:
        Report.objects.filter(job=job).update(job=twin)
        job.appeals.update(job=twin)
        signal = max(twin.priority - twin.report_count, job.priority - job.report_count)
        twin.report_count += job.report_count
        twin.priority = signal + twin.report_count
        twin.policy_ids = list(dict.fromkeys([*twin.policy_ids, *job.policy_ids]))
        twin.updated_at = now
        twin.save(update_fields=["report_count", "priority", "policy_ids", "updated_at"])
        component["mergedInto"] = str(twin.pk)
        return component, True
    job.queue = target
    job.lease_owner, job.lease_expires_at, job.updated_at = None, None, now
    job.save(update_fields=["queue", "lease_owner", "lease_expires_at", "updated_at"])
    return component, False


__all__ = [
    "ActionChoice",
    "AlreadyDecidedError",
    "DecisionInput",
    "DecisionRefusedError",
    "decide",
]
