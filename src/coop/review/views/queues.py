"""The Review Console's queues page, queue management, preview, and Start Reviewing."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from coop.accounts.access import forbidden, require_permission
from coop.accounts.permissions import Permission
from coop.review import claims
from coop.review.models import Queue
from coop.review.views.present import age


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_permission(Permission.VIEW_MRT)
def queues(request: HttpRequest) -> HttpResponse:
    manager = request.user.has_permission(Permission.EDIT_MRT_QUEUES)
    rows = [
        {"summary": s, "age": age(s.oldest_pending_at)} for s in claims.queues_for(request.user)
    ]
    return render(request, "review/queues.html", {"rows": rows, "manager": manager})


@require_permission(Permission.VIEW_MRT, methods=("POST",))
def queue_star(request: HttpRequest, queue_id: str) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=queue_id)
    if not claims.can_work(request.user, queue):
        return forbidden(request)
    starred = request.POST.get("starred") == "1"
    claims.star(queue, request.user, starred)
    if _is_htmx(request):
        return render(request, "review/_star.html", {"queue": queue, "starred": starred})
    return redirect("queues")


@require_permission(Permission.EDIT_MRT_QUEUES)
def queue_preview(request: HttpRequest, queue_id: str) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=queue_id)
    jobs = claims.preview(queue)
    if not claims.may_see_child_safety(request.user):
        jobs = [j for j in jobs if j.kind != "NCMEC"]
    context = {
        "queue": queue,
        "jobs": jobs,
        "pending": claims.pending_count(queue),
        "can_work": claims.can_work(request.user, queue),
    }
    return render(request, "review/queue_preview.html", context)


@require_permission(Permission.VIEW_MRT, methods=("GET", "HEAD", "POST"))
def queue_review(request: HttpRequest, queue_id: str) -> HttpResponse:
    """Start Reviewing: the job the reviewer holds in the queue, else the next one claimed."""
    queue = get_object_or_404(Queue, pk=queue_id)
    if not claims.can_work(request.user, queue):
        return forbidden(request)
    job = claims.claim_next(queue, request.user)
    if job is None:
        waiting = claims.pending_count(queue)  # jobs other reviewers hold now
        return render(request, "review/queue_empty.html", {"queue": queue, "waiting": waiting})
    return redirect(reverse("job", args=[job.pk]))
