"""The NCMEC job view: the page of an NCMEC-kind job at `/jobs/<id>` (registered with
review's job pages, so Start Reviewing of the NCMEC queue leads here), and its decision,
Submit to NCMEC or Ignore."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render

from coop.accounts.access import forbidden, require_permission
from coop.accounts.permissions import Permission
from coop.childsafety.decisions import SUBMIT, NcmecFormError, decide_ncmec, parse
from coop.childsafety.jobs import case_for
from coop.childsafety.page import job_page
from coop.review.errors import AlreadyDecidedError, DecisionRefusedError
from coop.review.models import Job, JobKind
from coop.review.views.jobs import held_by_another, next_job
from coop.review.visibility import may_work_job


def ncmec_job_page(
    request: HttpRequest,
    job: Job,
    *,
    error: DecisionRefusedError | None = None,
    posted: QueryDict | None = None,
    status: int = 200,
) -> HttpResponse:
    """Called by review's job view once it has checked that the user may view the job."""
    context = job_page(job, request.user, error=error, posted=posted)
    return render(request, "childsafety/job.html", context, status=status)


@require_permission(Permission.VIEW_CHILD_SAFETY_DATA, methods=("POST",))
def ncmec_job_decide(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = get_object_or_404(
        Job.objects.select_related("queue", "submission", "lease_owner"),
        pk=job_id,
        kind=JobKind.NCMEC,
    )
    if not may_work_job(request.user, job) or held_by_another(job, request.user):
        return forbidden(request)
    try:
        choice = parse(request.POST, case_for(job))
        decide_ncmec(job, request.user, choice)
    except AlreadyDecidedError:
        context = {"job": job, "next_queue": job.queue}
        return render(request, "review/already_decided.html", context, status=409)
    except DecisionRefusedError as refused:
        job.refresh_from_db()
        status = 400 if isinstance(refused, NcmecFormError) else 422
        return ncmec_job_page(request, job, error=refused, posted=request.POST, status=status)
    if choice.decision == SUBMIT:
        messages.success(
            request,
            f"Submitted to NCMEC: the CyberTip report on {job.item_type_id}/{job.item_id} is "
            "being filed.",
        )
    else:
        messages.success(request, f"Ignored {job.item_type_id}/{job.item_id}: no report filed.")
    return next_job(request, job.queue_id)
