"""The job page's presenter: everything `review/job.html` shows, built from the job's context
(coop.review.context), the viewer's rights (coop.review.visibility) and the decision panel
(coop.review.forms.DecisionForm). The view only renders what this returns."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog import builtins
from coop.catalog.models import ItemType, Policy
from coop.review.context import JobContext, job_context
from coop.review.errors import DecisionRefusedError
from coop.review.forms import DecisionForm, actions_for_type
from coop.review.items import related_target
from coop.review.models import Job, JobKind, JobStatus
from coop.review.views import present
from coop.review.visibility import has_csam_report, may_work_job


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


def job_page(
    job: Job,
    user: User,
    *,
    error: DecisionRefusedError | None = None,
    posted: QueryDict | None = None,
    reports_page: int | str | None = 1,
) -> dict[str, Any]:
    """The template context of the job page for `user` (who may view the job: callers check
    visibility.may_view_job). `error` and `posted`: a refused decision, shown re-filled."""
    ctx = job_context(job, user, reports_page)
    names = present.Names.load()
    pending = job.status == JobStatus.PENDING
    manager = user.has_permission(Permission.EDIT_MRT_QUEUES)
    can_work = may_work_job(user, job)
    can_decide = pending and can_work and (ctx.holds_lease or manager)
    type_ids = {e.submission.item_type_id for e in ctx.thread}
    if ctx.author:
        type_ids |= {s.item_type_id for s in ctx.author.recent_items}
    item_types = ItemType.objects.in_bulk(type_ids)
    target = related_target(job) if can_decide and job.kind != JobKind.APPEAL else None
    form = DecisionForm(
        posted,
        related_target=target,
        actions=[a for a in ctx.actions if a.id != builtins.NCMEC]  # the panel has its own
        if job.kind != JobKind.APPEAL
        else [],
        related_actions=actions_for_type(target.item_type_id, job.queue.hidden_actions)
        if target
        else [],
        policies=list(Policy.objects.order_by("name")),
    )
    decision = None if pending else job.decisions.order_by("-created_at").first()
    author_recent = []
    if ctx.author:
        author_recent = [
            {"sub": s, "summary": present.summary(s, item_types)} for s in ctx.author.recent_items
        ]
    return {
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
        "action_rows": form.rows(),
        "related_target": target,
        "related_rows": form.related_rows(),
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
        # A `csam: true` report that could not become a user-level NCMEC job (no author,
        # user already reported, ...): Enqueue to NCMEC tries again and says why not.
        "csam_reported": job.kind != JobKind.NCMEC and has_csam_report(job),
        "require_policy": ctx.review_settings.get("requirePolicyForDecisions", False),
        "reason_rule": _reason_rule(ctx.review_settings),
    }
