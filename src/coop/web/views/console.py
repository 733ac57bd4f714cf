"""The overview (landing) page and the settings index."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.web.navigation import SETTINGS, links_for, navigation_for
from coop.web.overview import overview_for


@require_permission()
def overview(request: HttpRequest) -> HttpResponse:
    """The overview; reviewers who may not see review data (external moderators) get the
    queues page instead (review.md, console addresses)."""
    user = request.user
    if not user.has_permission(Permission.VIEW_MRT_DATA) and user.has_permission(
        Permission.VIEW_MRT
    ):
        return redirect("queues")
    context = {
        "overview": overview_for(request.user, request.GET),
        "links": [link for link in navigation_for(request.user, "") if link.url != "/"],
    }
    return render(request, "web/overview.html", context)


@require_permission()
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "web/settings/index.html", {"pages": links_for(request.user, SETTINGS)})
