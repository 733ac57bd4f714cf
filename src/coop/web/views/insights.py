"""Review analytics, Rule insights and the CSV download of every dashboard chart."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from coop.accounts.access import forbidden, require_permission
from coop.accounts.permissions import Permission
from coop.insights import dashboards
from coop.review.visibility import may_see_child_safety


@require_permission(Permission.VIEW_MRT_DATA)
def review_analytics(request: HttpRequest) -> HttpResponse:
    choice = dashboards.choose_window(request.GET)
    analytics = dashboards.review_analytics(choice.window, may_see_child_safety(request.user))
    context = {"choice": choice, "analytics": analytics}
    return render(request, "insights/review.html", context)


@require_permission(Permission.VIEW_INSIGHTS)
def rule_insights(request: HttpRequest) -> HttpResponse:
    choice = dashboards.choose_window(request.GET)
    insights = dashboards.rule_insights(choice.window, may_see_child_safety(request.user))
    context = {"choice": choice, "insights": insights}
    return render(request, "insights/rules.html", context)


def _csv(chart, choice, name: str) -> HttpResponse:
    response = HttpResponse(chart.csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{choice.range}-{choice.bucket}.csv"'
    )
    return response


@require_permission(Permission.VIEW_RULES_DASHBOARD)
def rule_activity_csv(request: HttpRequest, rule_id: str) -> HttpResponse:
    """The rule page's Activity chart as CSV (the rules pages' permission)."""
    choice = dashboards.choose_window(request.GET)
    cs = may_see_child_safety(request.user)
    return _csv(dashboards.rule_activity_chart(rule_id, choice.window, cs), choice, "rule-activity")


@require_permission()
def chart_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """One chart's numbers as CSV; each chart needs the permission of the page showing it."""
    if slug not in dashboards.CHARTS:
        raise Http404("No such chart")
    if not dashboards.may_see(request.user, slug):
        return forbidden(request)
    choice = dashboards.choose_window(request.GET)
    return _csv(
        dashboards.chart(slug, choice.window, may_see_child_safety(request.user)), choice, slug
    )
