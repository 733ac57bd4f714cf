"""The Review Console's queues page, queue management, preview, and Start Reviewing."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from coop.accounts.access import forbidden, is_htmx, require_permission
from coop.accounts.permissions import Permission
from coop.review import claims
from coop.review import queues as listing
from coop.review.models import Queue
from coop.review.views.present import age
from coop.review.visibility import may_preview_queue, may_work_queue


@require_permission(Permission.VIEW_MRT)
def queues(request: HttpRequest) -> HttpResponse:
    manager = request.user.has_permission(Permission.EDIT_MRT_QUEUES)
    rows = [
        {"summary": s, "age": age(s.oldest_pending_at)} for s in listing.queues_for(request.user)
    ]
    return render(request, "review/queues.html", {"rows": rows, "manager": manager})


@require_permission(Permission.VIEW_MRT, methods=("POST",))
def queue_star(request: HttpRequest, queue_id: str) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=queue_id)
    if not may_work_queue(request.user, queue):
        return forbidden(request)
    starred = request.POST.get("starred") == "1"
    listing.star(queue, request.user, starred)
    if is_htmx(request):
        return render(request, "review/_star.html", {"queue": queue, "starred": starred})
    return redirect("queues")


@require_permission(Permission.EDIT_MRT_QUEUES)
def queue_preview(request: HttpRequest, queue_id: str) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=queue_id)
    if not may_preview_queue(request.user, queue):
        return forbidden(request)
    context = {
        "queue": queue,
        "jobs": listing.preview(queue, viewer=request.user),
        "pending": claims.pending_count(queue, request.user),
        "can_work": may_work_queue(request.user, queue),
    }
    return render(request, "review/queue_preview.html", context)


@require_permission(Permission.VIEW_MRT, methods=("GET", "HEAD", "POST"))
def queue_review(request: HttpRequest, queue_id: str) -> HttpResponse:
    """Start Reviewing. Only a POST claims (the job the reviewer holds in the queue, else the
    next one); a GET shows the job they already hold, or a page whose button POSTs."""
    queue = get_object_or_404(Queue, pk=queue_id)
    if not may_work_queue(request.user, queue):
        return forbidden(request)
    if request.method == "POST":
        return claim_and_show(request, queue)
    held = claims.held_job(queue, request.user)
    if held is not None:
        return redirect(reverse("job", args=[held.pk]))
    pending = claims.pending_count(queue, request.user)
    claimable = claims.claimable_count(queue, request.user)
    if not claimable:  # the calm empty page, as after the last job
        context = {"queue": queue, "waiting": pending}  # jobs other reviewers hold now
        return render(request, "review/queue_empty.html", context)
    context = {"queue": queue, "pending": pending, "waiting": pending - claimable}
    return render(request, "review/queue_start.html", context)


def claim_and_show(request: HttpRequest, queue: Queue) -> HttpResponse:
    """Claim the next job of `queue` for the user (in a POST) and show it; the calm empty
    page when nothing is left for them. Callers check `may_work_queue`."""
    job = claims.claim_next(queue, request.user, lambda text: messages.warning(request, text))
    if job is None:
        waiting = claims.pending_count(queue, request.user)  # jobs other reviewers hold now
        return render(request, "review/queue_empty.html", {"queue": queue, "waiting": waiting})
    return redirect(reverse("job", args=[job.pk]))
