"""The job view (`/jobs/<id>`) and what its forms post: decide, skip, comment, invalidate.
Access is the review visibility rule (coop.review.visibility); the page's context comes from
the presenter (coop.review.presenter)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from coop.accounts.access import forbidden, is_htmx, require_permission
from coop.accounts.permissions import Permission
from coop.core.items import ItemRef
from coop.review.claims import claim_next, holds_lease
from coop.review.comments import CommentRefusedError, add_comment, comments_for
from coop.review.decisions import decide
from coop.review.errors import AlreadyDecidedError, DecisionRefusedError
from coop.review.forms import DecisionForm
from coop.review.invalidation import invalidate_reporter
from coop.review.items import related_target
from coop.review.job_pages import render_registered
from coop.review.models import Job, JobStatus, Queue
from coop.review.presenter import job_page
from coop.review.skips import may_skip, skip
from coop.review.visibility import may_view_job, may_work_job, may_work_queue


def _get_job(job_id: uuid.UUID) -> Job:
    return get_object_or_404(
        Job.objects.select_related("queue", "submission", "lease_owner"), pk=job_id
    )


def render_job(
    request: HttpRequest,
    job: Job,
    *,
    error: DecisionRefusedError | None = None,
    posted: QueryDict | None = None,
    status: int = 200,
) -> HttpResponse:
    registered = render_registered(request, job, error=error, posted=posted, status=status)
    if registered is not None:  # another kind's own page (the NCMEC job view)
        return registered
    page = request.GET.get("reports", 1)  # the report history's page
    context = job_page(job, request.user, error=error, posted=posted, reports_page=page)
    return render(request, "review/job.html", context, status=status)


@require_permission(Permission.VIEW_MRT)
def job_view(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _get_job(job_id)
    if not may_view_job(request.user, job):
        return forbidden(request)
    return render_job(request, job)


def _next_queue(request: HttpRequest, job: Job) -> str:
    """The queue the reviewer is working (the job may have been moved away from it)."""
    given = request.POST.get("queue", "")
    if given and given != job.queue_id and Queue.objects.filter(pk=given).exists():
        return given
    return job.queue_id


def held_by_another(job: Job, user) -> bool:
    """Another reviewer holds the pending job (managers may decide it anyway)."""
    return (
        job.status == JobStatus.PENDING
        and job.lease_owner_id is not None
        and not holds_lease(job, user)
        and not user.has_permission(Permission.EDIT_MRT_QUEUES)
    )


@require_permission(Permission.VIEW_MRT, methods=("POST",))
def job_decide(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _get_job(job_id)
    if not may_work_job(request.user, job) or held_by_another(job, request.user):
        return forbidden(request)
    next_queue = _next_queue(request, job)
    try:
        decision = DecisionForm(request.POST, related_target=related_target(job)).decision()
        decide(job.pk, request.user, decision)
    except AlreadyDecidedError:
        context = {"job": job, "next_queue": Queue.objects.filter(pk=next_queue).first()}
        return render(request, "review/already_decided.html", context, status=409)
    except DecisionRefusedError as refused:
        job.refresh_from_db()
        return render_job(request, job, error=refused, posted=request.POST, status=422)
    messages.success(request, f"Decision recorded on {job.item_type_id}/{job.item_id}.")
    return next_job(request, next_queue)


@require_permission(Permission.VIEW_MRT, methods=("POST",))
def job_skip(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _get_job(job_id)
    if not may_work_job(request.user, job) or not may_skip(request.user):
        return forbidden(request)
    if job.status == JobStatus.PENDING and holds_lease(job, request.user):
        skip(job, request.user)
        messages.info(request, f"Skipped {job.item_type_id}/{job.item_id}.")
    return next_job(request, _next_queue(request, job))


def next_job(request: HttpRequest, queue_id: str) -> HttpResponse:
    """After a decision or a skip (a POST), the next job loads at once (review.md): it is
    claimed here and shown; with nothing left, the queue's page says so."""
    queue = Queue.objects.filter(pk=queue_id).first()
    if queue is not None and may_work_queue(request.user, queue):
        job = claim_next(queue, request.user, lambda text: messages.warning(request, text))
        if job is not None:
            return redirect(reverse("job", args=[job.pk]))
    return redirect(reverse("queue-review", args=[queue_id]))


@require_permission(Permission.VIEW_MRT, methods=("POST",))
def job_comment(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _get_job(job_id)
    if not may_view_job(request.user, job):
        return forbidden(request)
    text = request.POST.get("text", "")
    error = None
    try:
        add_comment(job, request.user, text)
        text = ""
    except CommentRefusedError as refused:
        error = str(refused)
    if is_htmx(request):
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
    if not may_work_job(request.user, job):
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
    except DecisionRefusedError as refused:
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
