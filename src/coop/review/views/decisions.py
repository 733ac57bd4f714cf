"""Recent Decisions (the audit log) and its streamed CSV exports."""

from __future__ import annotations

from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.review.audit import Export, decisions_export, recent_decisions, skips_export
from coop.review.forms import DecisionFilterForm
from coop.review.views import present

PER_PAGE = 50


@require_permission(Permission.VIEW_MRT_DATA)
def decisions(request: HttpRequest) -> HttpResponse:
    form = DecisionFilterForm(request.GET or None)
    filters = form.filters(request.user)  # an unbound form filters nothing
    page = Paginator(recent_decisions(filters).select_related("reviewer"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    names = present.Names.load()
    rows = [
        {
            "decision": d,
            "components": [present.component_text(c, names) for c in d.components],
            "policies": [names.policy(p) for p in d.policy_ids],
            "queue": names.queue(d.queue_id) if d.queue_id else "",
        }
        for d in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
    }
    return render(request, "review/decisions.html", context)


def _csv(request: HttpRequest, export: Export, filename: str) -> StreamingHttpResponse:
    """Stream the export: under ASGI with the asynchronous iterator (Django would read a
    synchronous one whole before sending anything), else with the synchronous one."""
    lines = export.alines() if isinstance(request, ASGIRequest) else export.lines()
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_permission(Permission.VIEW_MRT_DATA)
def decisions_csv(request: HttpRequest) -> StreamingHttpResponse:
    filters = DecisionFilterForm(request.GET).filters(request.user)
    return _csv(request, decisions_export(filters), "decisions.csv")


@require_permission(Permission.VIEW_MRT_DATA)
def skips_csv(request: HttpRequest) -> StreamingHttpResponse:
    filters = DecisionFilterForm(request.GET).filters(request.user)
    return _csv(request, skips_export(filters), "skips.csv")
