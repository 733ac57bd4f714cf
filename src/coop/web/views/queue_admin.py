"""Queue management (create, edit, delete): configuration editing, so it lives above
coop.config with the other configuration pages; working the queues is coop.review's."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.config.services import delete_object, save_object
from coop.review import claims
from coop.review.models import Queue
from coop.review.services import default_queue
from coop.web.queue_form import QueueForm


@require_permission(Permission.EDIT_MRT_QUEUES, methods=("GET", "HEAD", "POST"))
def queue_form(request: HttpRequest, queue_id: str | None = None) -> HttpResponse:
    """Create a queue (no `queue_id`) or edit one."""
    queue = get_object_or_404(Queue, pk=queue_id) if queue_id is not None else None
    form = QueueForm(request.POST or None, queue=queue)
    if request.method == "POST" and form.is_valid():
        result = save_object("queues", form.file_data(), user=request.user)
        if result.ok:
            done = "saved" if queue else "created"
            messages.success(request, f"Queue “{form.cleaned_data['name']}” is {done}.")
            return redirect("queues")
        form.add_save_errors(result)
    status = 400 if form.errors else 200
    return render(request, "review/queue_form.html", {"form": form, "queue": queue}, status=status)


@require_permission(Permission.EDIT_MRT_QUEUES, methods=("GET", "HEAD", "POST"))
def queue_delete(request: HttpRequest, queue_id: str) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=queue_id)
    errors: list[str] = []
    if request.method == "POST":
        result = delete_object("queues", queue.pk, user=request.user)
        if result.ok:
            messages.success(request, f"Queue “{queue.name}” is deleted.")
            return redirect("queues")
        errors = [str(e) for e in result.errors]
    context = {
        "queue": queue,
        "pending": claims.pending_count(queue),
        "default": Queue.objects.filter(is_default=True, is_appeals=queue.is_appeals).first()
        if queue.is_appeals
        else default_queue(),
        "errors": errors,
    }
    return render(request, "review/queue_delete.html", context, status=400 if errors else 200)
