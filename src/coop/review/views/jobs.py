"""The job view (`/jobs/<id>`) and what its forms post: decide, skip, comment, invalidate."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from coop.accounts.access import forbidden, require_permission
from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog import builtins
from coop.catalog.models import Action, ItemType, Policy
from coop.catalog.org_settings import org_settings
from coop.core.items import ItemRef
from coop.review import claims
from coop.review.comments import CommentRefused, add_comment, comments_for
from coop.review.context import JobContext, job_context
from coop.review.decisions import (
    AlreadyDecided,
    DecisionRefused,
    decide,
    invalidate_reporter,
    subject_user,
)
from coop.review.forms import actions_for_type, parse_decision
from coop.review.models import Job, JobKind, JobStatus, Queue
from coop.review.views import present

MAX_SHORTCUT_ACTIONS = 9


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _get_job(job_id: uuid.UUID) -> Job:
    return get_object_or_404(
        Job.objects.select_related("queue", "submission", "lease_owner"), pk=job_id
    )


def may_view(user: User, job: Job) -> bool:
    """Reviewers who may work the job's queue; and people who read Recent Decisions (the
    job's page is where a decision links to). NCMEC jobs need VIEW_CHILD_SAFETY_DATA."""
    if claims.can_work_job(user, job):
        return True
    if job.kind == JobKind.NCMEC and not claims.may_see_child_safety(user):
        return False
    return user.has_permission(Permission.VIEW_MRT_DATA)


def may_skip(user: User) -> bool:
    """Skip is offered unless the settings hide it from non-admins."""
    return not org_settings()["review"]["hideSkipForNonAdmins"] or user.has_permission(
        Permission.MANAGE_ORG
    )


def _related_target(job: Job) -> ItemRef | None:
    """Related actions apply to the job's author (not to USER items, which are the author)."""
    subject = subject_user(job)
    if subject is None or subject == ItemRef(job.item_id, job.item_type_id):
        return None
    return subject


def _action_rows(
    actions: list[Action],
    policies: list[Policy],
    posted: QueryDict | None,
    prefix: str,
    shortcuts: bool,
) -> list[dict[str, Any]]:
    """Each offered action with its policies and parameters, re-filled from a refused POST."""
    checked = set(posted.getlist(f"{prefix}action")) if posted else set()
    out = []
    for index, action in enumerate(actions):
        chosen = set(posted.getlist(f"{prefix}policies-{action.id}")) if posted else set()
        params = []
        for spec in action.parameters or []:
            name = spec.get("name", "")
            field = f"{prefix}param-{action.id}-{name}"
            given = posted.get(field) if posted else None
            default = spec.get("default")
            params.append(
                {
                    "name": name,
                    "field": field,
                    "type": spec.get("type", "STRING"),
                    "required": bool(spec.get("required")),
                    "value": given if given is not None else "",
                    "default": "" if default is None else present.data_text(default),
                }
            )
        out.append(
            {
                "action": action,
                "key": str(index + 1) if shortcuts and index < MAX_SHORTCUT_ACTIONS else "",
                "checked": action.id in checked,
                "policies": [(p, p.id in chosen) for p in policies],
                "params": params,
                "prefix": prefix,
            }
        )
    return out


def _executions(executions: list[Any], names: present.Names) -> list[dict[str, Any]]:
    return [
        {
            "execution": e,
            "action": names.action(e.action_id),
            "policies": [names.policy(p) for p in e.policy_ids],
        }
        for e in executions
    ]


def _reason_rule(review: dict[str, Any]) -> str:
    on_action = review.get("requireReasonOnAction", False)
    on_ignore = review.get("requireReasonOnIgnore", False)
    if on_action and on_ignore:
        return "required"
    if on_action:
        return "required for actions"
    return "required to ignore" if on_ignore else ""


def _thread(ctx: JobContext, item_types: dict[str, ItemType]) -> list[dict[str, Any]]:
    return [
        {
            "entry": e,
            "rows": present.submission_rows(e.submission, item_types),
            "type_name": getattr(item_types.get(e.submission.item_type_id), "name", "")
            or e.submission.item_type_id,
        }
        for e in ctx.thread
    ]


def render_job(
    request: HttpRequest,
    job: Job,
    *,
    error: DecisionRefused | None = None,
    posted: QueryDict | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    ctx = job_context(job, user)
    names = present.Names.load()
    pending = job.status == JobStatus.PENDING
    manager = user.has_permission(Permission.EDIT_MRT_QUEUES)
    can_work = claims.can_work_job(user, job)
    can_decide = pending and can_work and (ctx.holds_lease or manager)
    type_ids = {e.submission.item_type_id for e in ctx.thread}
    if ctx.author:
        type_ids |= {s.item_type_id for s in ctx.author.recent_items}
    item_types = ItemType.objects.in_bulk(type_ids)
    policies = list(Policy.objects.order_by("name"))
    related_target = _related_target(job) if can_decide and job.kind != JobKind.APPEAL else None
    related_actions = (
        actions_for_type(related_target.item_type_id, job.queue.hidden_actions)
        if related_target
        else []
    )
    decision = None if pending else job.decisions.order_by("-created_at").first()
    author_recent = []
    if ctx.author:
        author_recent = [
            {"sub": s, "summary": present.summary(s, item_types)} for s in ctx.author.recent_items
        ]
    context = {
        "ctx": ctx,
        "job": job,
        "names": names,
        "pending": pending,
        "can_work": can_work,
        "can_decide": can_decide,
        "can_skip": ctx.can_skip and pending and ctx.holds_lease,
        "manager": manager,
        "item_rows": present.rows(ctx.item.fields, ctx.item.data),
        "thread": _thread(ctx, item_types),
        "author_rows": (
            present.rows(ctx.author.item.fields, ctx.author.item.data)
            if ctx.author and ctx.author.item and ctx.author.item.ref != ctx.item.ref
            else []
        ),
        "author_recent": author_recent,
        "appeal_rows": (
            present.rows(ctx.appeal.actioned_item.fields, ctx.appeal.actioned_item.data)
            if ctx.appeal
            else []
        ),
        "rule_hits": [
            {
                "hit": h,
                "matched": [{k: present.data_text(v) for k, v in m.items()} for m in h.matched],
            }
            for h in ctx.rule_hits
        ],
        "action_rows": _action_rows(
            [a for a in ctx.actions if a.id != builtins.NCMEC],  # the panel has its own
            policies,
            posted,
            "",
            shortcuts=True,
        )
        if job.kind != JobKind.APPEAL
        else [],
        "related_target": related_target,
        "related_rows": _action_rows(related_actions, policies, posted, "related-", False),
        "posted": posted,
        "error": error,
        "decision": decision,
        "decision_components": [
            present.component_text(c, names) for c in (decision.components if decision else [])
        ],
        "lease_elsewhere": pending
        and job.lease_owner_id is not None
        and not ctx.holds_lease
        and job.lease_expires_at is not None,
        "investigation_url": present.investigation_url(job.item_id, job.item_type_id),
        "reports": [
            {"report": r, "policy": names.policy(r.policy_id) if r.policy_id else ""}
            for r in ctx.reports
        ],
        "decision_policies": [names.policy(p) for p in (decision.policy_ids if decision else [])],
        "item_actions": _executions(ctx.item_actions, names),
        "author_actions": _executions(ctx.author.previous_actions if ctx.author else [], names),
        "require_policy": ctx.review_settings.get("requirePolicyForDecisions", False),
        "reason_rule": _reason_rule(ctx.review_settings),
    }
    return render(request, "review/job.html", context, status=status)


@require_permission(Permission.VIEW_MRT)
def job_view(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _get_job(job_id)
    if not may_view(request.user, job):
        return forbidden(request)
    return render_job(request, job)


def _next_queue(request: HttpRequest, job: Job) -> str:
    """The queue the reviewer is working (the job may have been moved away from it)."""
    given = request.POST.get("queue", "")
    if given and given != job.queue_id and Queue.objects.filter(pk=given).exists():
        return given
    return job.queue_id


@require_permission(Permission.VIEW_MRT, methods=("POST",))
def job_decide(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _get_job(job_id)
    if not claims.can_work_job(request.user, job):
        return forbidden(request)
    next_queue = _next_queue(request, job)
    try:
        decision = parse_decision(request.POST, _related_target(job))
        decide(job.pk, request.user, decision)
    except AlreadyDecided:
        context = {"job": job, "next_queue": Queue.objects.filter(pk=next_queue).first()}
        return render(request, "review/already_decided.html", context, status=409)
    except DecisionRefused as refused:
        job.refresh_from_db()
        return render_job(request, job, error=refused, posted=request.POST, status=422)
    messages.success(request, f"Decision recorded on {job.item_type_id}/{job.item_id}.")
    return redirect(reverse("queue-review", args=[next_queue]))


@require_permission(Permission.VIEW_MRT, methods=("POST",))
def job_skip(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _get_job(job_id)
    if not claims.can_work_job(request.user, job) or not may_skip(request.user):
        return forbidden(request)
    if job.status == JobStatus.PENDING and claims.holds_lease(job, request.user):
        claims.skip(job, request.user)
        messages.info(request, f"Skipped {job.item_type_id}/{job.item_id}.")
    return redirect(reverse("queue-review", args=[_next_queue(request, job)]))


@require_permission(Permission.VIEW_MRT, methods=("POST",))
def job_comment(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _get_job(job_id)
    if not may_view(request.user, job):
        return forbidden(request)
    text = request.POST.get("text", "")
    error = None
    try:
        add_comment(job, request.user, text)
        text = ""
    except CommentRefused as refused:
        error = str(refused)
    if _is_htmx(request):
        context = {
            "job": job,
            "comments": comments_for(ItemRef(job.item_id, job.item_type_id)),
            "comment_error": error,
            "comment_text": text,
        }
        return render(request, "review/_comments.html", context)
    if error:
        messages.error(request, error)
    return redirect(reverse("job", args=[job.pk]) + "#comments")


@require_permission(Permission.EDIT_MRT_QUEUES, methods=("POST",))
def job_invalidate(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _get_job(job_id)
    if not claims.can_work_job(request.user, job):
        return forbidden(request)
    reporter_id = request.POST.get("reporter_id", "").strip()
    reporter_type = request.POST.get("reporter_type_id", "").strip()
    everywhere = request.POST.get("scope") == "all"
    if not reporter_id or not reporter_type:
        messages.error(request, "Choose the reporter whose reports to invalidate.")
        return redirect(reverse("job", args=[job.pk]))
    try:
        result = invalidate_reporter(
            job, request.user, ItemRef(reporter_id, reporter_type), everywhere
        )
    except DecisionRefused as refused:
        messages.error(request, refused.message)
    else:
        where = "every pending job" if everywhere else "this job"
        closed = (
            f"; {result.jobs_closed} job(s) closed as invalidated" if result.jobs_closed else ""
        )
        messages.success(
            request,
            f"Invalidated {result.reports_invalidated} report(s) from "
            f"{reporter_type}/{reporter_id} on {where} "
            f"({result.jobs_scrubbed} job(s) changed{closed}).",
        )
    return redirect(reverse("job", args=[job.pk]) + "#reports")
