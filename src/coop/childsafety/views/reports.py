"""Console: the NCMEC Reports page (review.md, NCMEC): every CyberTip report with where it is,
its XML and NCMEC's receipt, the failing step and error of a failed one, and Retry."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.childsafety import report_pages, submission
from coop.childsafety.models import NcmecReport

PAGE_SIZE = 50


@require_permission(Permission.VIEW_CHILD_SAFETY_DATA)
def reports(request: HttpRequest) -> HttpResponse:
    shown = request.GET.get("status", "")
    shown = shown if shown in report_pages.FILTERS else ""
    page = Paginator(report_pages.reports(shown), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": report_pages.views_of(list(page.object_list)),
        "shown": shown,
        "filters": [(key, words) for key, (words, _) in report_pages.FILTERS.items()],
    }
    return render(request, "childsafety/reports/list.html", context)


def _report(report_id: uuid.UUID) -> NcmecReport:
    report = NcmecReport.objects.select_related("reviewer", "preservation").filter(pk=report_id)
    if not report:
        raise Http404("No such NCMEC report")
    return report[0]


@require_permission(Permission.VIEW_CHILD_SAFETY_DATA)
def report(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    row, steps = report_pages.detail_of(_report(report_id))
    return render(request, "childsafety/reports/detail.html", {"row": row, "steps": steps})


@require_permission(Permission.VIEW_CHILD_SAFETY_DATA, methods=("POST",))
def retry(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    found = _report(report_id)
    try:
        submission.retry(found.pk)
    except submission.NotRetryable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Coop is filing the report again from the step that failed.")
    return redirect("ncmec-report", report_id=found.pk)
