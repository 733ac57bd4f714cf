"""Strikes (rules.md, User strikes): the distribution of users' current totals, the users
with the most, and recent threshold actions, each linked to the user in investigation.
VIEW_INSIGHTS: strike totals are aggregate enforcement statistics, as the dashboards
(accounts.md gives it to Admins, Rules Managers and Analysts)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.catalog.org_settings import org_settings
from coop.core.enums import ExecutionSource
from coop.enforcement import strikes
from coop.enforcement.models import ActionExecution
from coop.review.views import present

RECENT_THRESHOLD_ACTIONS = 50


@require_permission(Permission.VIEW_INSIGHTS)
def strikes_page(request: HttpRequest) -> HttpResponse:
    distribution = strikes.total_distribution()
    widest = max((n for _, n in distribution), default=0)
    names = present.Names.load()
    settings = org_settings()["strikes"]
    context = {
        "distribution": [
            {
                "total": total,
                "label": f"{total}+" if total == strikes.TOP_BUCKET else str(total),
                "users": users,
                "width": round(100 * users / widest) if widest else 0,
            }
            for total, users in distribution
        ],
        "users": sum(n for _, n in distribution),
        "highest": [
            {
                "ref": ref,
                "total": total,
                "url": present.investigation_url(ref.item_id, ref.item_type_id),
            }
            for ref, total in strikes.highest_totals()
        ],
        "threshold_actions": [
            {
                "execution": e,
                "action": names.action(e.action_id),
                "url": present.investigation_url(e.item_id, e.item_type_id),
            }
            for e in ActionExecution.objects.filter(source=ExecutionSource.STRIKE).order_by(
                "-created_at"
            )[:RECENT_THRESHOLD_ACTIONS]
        ],
        "ttl_days": settings["ttlDays"],
        "thresholds": [
            {"score": t["score"], "actions": [names.action(a["id"]) for a in t["actions"]]}
            for t in sorted(settings["thresholds"], key=lambda t: t["score"])
        ],
    }
    return render(request, "strikes/strikes.html", context)
