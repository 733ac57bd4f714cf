"""Bulk Actions (review.md): paste up to 10,000 ids, choose the item type, actions, policies
and reason; confirm the counts; follow the background run and download its results.
MANUALLY_ACTION_CONTENT (accounts.md: Bulk Actioning)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render

from coop.accounts.access import is_htmx, require_permission
from coop.accounts.permissions import Permission
from coop.catalog.models import ItemType, Policy
from coop.enforcement import bulk
from coop.enforcement.models import BulkActionJob, BulkJobStatus
from coop.enforcement.services import ActionError
from coop.review import bulk_actions as service
from coop.review.audit import csv_cell
from coop.review.errors import DecisionRefusedError
from coop.review.forms import DecisionForm
from coop.review.views import present

RECENT_JOBS = 20
CSV_PAGE = 1000


def _form(request: HttpRequest, posted=None) -> DecisionForm:
    return DecisionForm(
        posted,
        actions=service.offered_actions(request.user),
        policies=list(Policy.objects.order_by("name")),
    )


def _page(request: HttpRequest, *, form: DecisionForm, status: int = 200, **extra) -> HttpResponse:
    context = {
        "item_types": list(ItemType.objects.order_by("name").values_list("id", "name")),
        "action_rows": form.rows(shortcuts=False),
        "recent": BulkActionJob.objects.exclude(status=BulkJobStatus.DRAFT)[:RECENT_JOBS],
        "max_ids": bulk.MAX_IDS,
        **extra,
    }
    return render(request, "bulk_actions/form.html", context, status=status)


@require_permission(Permission.MANUALLY_ACTION_CONTENT, methods=("GET", "HEAD", "POST"))
def bulk_actions(request: HttpRequest) -> HttpResponse:
    """The form; its POST counts the ids and stores a draft for confirmation (nothing runs)."""
    if request.method != "POST":
        return _page(request, form=_form(request))
    post = request.POST
    form = _form(request, post)
    item_type = post.get("item_type", "")
    errors: dict[str, str] = {}
    if not ItemType.objects.filter(pk=item_type).exists():
        errors["item_type"] = "Choose the item type of the ids."
    job = None
    parsed = None
    if not errors:
        try:
            choice = form.decision()
            requests = [
                {"actionId": c.action_id, "policyIds": c.policy_ids, "parameters": c.parameters}
                for c in choice.actions
            ]
            reason = post.get("reason", "").strip()
            job = service.prepare(item_type, post.get("ids", ""), requests, reason, request.user)
        except bulk.BulkInputError as exc:
            errors[exc.field], parsed = exc.message, exc.parsed
        except ActionError as exc:
            errors["actions"] = f"{exc.title}: {exc.detail}"
        except DecisionRefusedError as exc:
            errors["actions"] = exc.message
    if job is None:
        return _page(request, form=form, status=400, errors=errors, posted=post, parsed=parsed)
    return redirect("bulk-action", job.pk)


def _job(job_id) -> BulkActionJob:
    job = BulkActionJob.objects.filter(pk=job_id).first()
    if job is None:
        raise Http404("no such bulk action")
    return job


@require_permission(Permission.MANUALLY_ACTION_CONTENT)
def bulk_action(request: HttpRequest, job_id) -> HttpResponse:
    """A draft's confirmation, or a run's progress and results (htmx asks for the progress
    alone while it runs)."""
    job = _job(job_id)
    names = present.Names.load()
    after = request.GET.get("after", "")
    after_position = int(after) if after.isdigit() else -1
    rows = []
    if job.status != BulkJobStatus.DRAFT:
        rows = bulk.result_rows(job, after_position, bulk.RESULTS_PAGE + 1)  # one more: a next?
    context = {
        "job": job,
        "summary": bulk.summary(job),
        "percent": round(100 * job.processed / job.total) if job.total else 100,
        "actions": [
            {
                "name": names.action(r["actionId"]),
                "policies": [names.policy(p) for p in r["policyIds"]],
                "parameters": r["parameters"],
            }
            for r in job.requests
        ],
        "rows": rows[: bulk.RESULTS_PAGE],
        "next_after": rows[bulk.RESULTS_PAGE - 1].position
        if len(rows) > bulk.RESULTS_PAGE
        else None,
        "paged": after_position >= 0,
    }
    if is_htmx(request):
        response = render(request, "bulk_actions/_progress.html", context)
        # The full page with every result: once when the run ends (the page showed it
        # running), and once more when the last webhook is settled.
        just_done = request.GET.get("shown") == BulkJobStatus.RUNNING
        if job.status == BulkJobStatus.DONE and (
            just_done or not context["summary"].deliveries_waiting
        ):
            response["HX-Refresh"] = "true"
        return response
    return render(request, "bulk_actions/job.html", context)


@require_permission(Permission.MANUALLY_ACTION_CONTENT, methods=("POST",))
def bulk_action_start(request: HttpRequest, job_id) -> HttpResponse:
    job = _job(job_id)
    if job.created_by_id != request.user.pk:
        messages.error(request, "Only the person who prepared a bulk action can run it.")
    elif service.start(job):
        messages.success(request, f"Running on {job.total:,} ids.")
    else:
        messages.info(request, "This bulk action was already confirmed.")
    return redirect("bulk-action", job.pk)


def _line() -> tuple[io.StringIO, csv.writer]:
    buffer = io.StringIO()
    return buffer, csv.writer(buffer)


def _text(rows: list[list]) -> str:
    buffer, writer = _line()
    writer.writerows([[csv_cell(c) for c in row] for row in rows])
    return buffer.getvalue()


def _lines(job: BulkActionJob) -> Iterator[str]:
    yield _text([bulk.CSV_HEADER])
    after = -1
    while True:
        page = bulk.result_rows(job, after, CSV_PAGE)
        if page:
            yield _text([bulk.csv_row(job, r) for r in page])
        if len(page) < CSV_PAGE:
            return
        after = page[-1].position


async def _alines(job: BulkActionJob) -> AsyncIterator[str]:
    yield _text([bulk.CSV_HEADER])
    read = sync_to_async(bulk.result_rows, thread_sensitive=True)
    after = -1
    while True:
        page = await read(job, after, CSV_PAGE)
        if page:
            yield _text([bulk.csv_row(job, r) for r in page])
        if len(page) < CSV_PAGE:
            return
        after = page[-1].position


@require_permission(Permission.MANUALLY_ACTION_CONTENT)
def bulk_action_csv(request: HttpRequest, job_id) -> StreamingHttpResponse:
    """The per-item results, streamed a page of rows at a time (ASGI: asynchronously)."""
    job = _job(job_id)
    lines = _alines(job) if isinstance(request, ASGIRequest) else _lines(job)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bulk-action-{job.pk}.csv"'
    response["Cache-Control"] = "no-store"
    return response
