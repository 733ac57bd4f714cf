"""Settings pages that each edit one block of `settings` (accounts.md, config.md): Organisation,
Review Console, Appeals, Strikes and Partial items. MANAGE_ORG, as every organisation setting.

Each view parses the page's forms, saves the block through the configuration writer
(coop.web.settings_forms, `save_settings`) and shows what the validator refused next to the
field; nothing is saved unless the whole block is valid.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.catalog.org_settings import org_settings
from coop.web import settings_forms as sf


@dataclass(frozen=True)
class Page:
    url_name: str
    title: str
    template: str
    editor: type[sf.Editor]
    saved: str  # the message after a save that changed something


ORGANIZATION = Page(
    "settings-organization",
    "Organisation",
    "web/settings/organization.html",
    sf.OrganizationEditor,
    "The organisation's details are saved.",
)
REVIEW = Page(
    "settings-review",
    "Review Console",
    "web/settings/review.html",
    sf.ReviewEditor,
    "The Review Console settings are saved.",
)
APPEALS = Page(
    "settings-appeals",
    "Appeals",
    "web/settings/appeals.html",
    sf.AppealsEditor,
    "The appeal settings are saved.",
)
STRIKES = Page(
    "settings-strikes",
    "Strikes",
    "web/settings/strikes.html",
    sf.StrikesEditor,
    "The strike settings are saved.",
)
PARTIAL_ITEMS = Page(
    "settings-partial-items",
    "Partial items",
    "web/settings/partial_items.html",
    sf.PartialItemsEditor,
    "The partial items settings are saved.",
)


def _edit(request: HttpRequest, page: Page) -> HttpResponse:
    block = page.editor.block
    editor = page.editor(request.POST if request.method == "POST" else None, org_settings()[block])
    if request.method == "POST" and editor.is_valid():
        result = editor.save(request.user)
        if result.ok:
            messages.success(request, page.saved if result.change else "Nothing changed.")
            return redirect(page.url_name)
    context = {"editor": editor, "page": page, "block_key": block}
    return render(request, page.template, context, status=400 if request.method == "POST" else 200)


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def organization(request: HttpRequest) -> HttpResponse:
    return _edit(request, ORGANIZATION)


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def review(request: HttpRequest) -> HttpResponse:
    return _edit(request, REVIEW)


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def appeals(request: HttpRequest) -> HttpResponse:
    return _edit(request, APPEALS)


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def strikes(request: HttpRequest) -> HttpResponse:
    return _edit(request, STRIKES)


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def partial_items(request: HttpRequest) -> HttpResponse:
    return _edit(request, PARTIAL_ITEMS)
