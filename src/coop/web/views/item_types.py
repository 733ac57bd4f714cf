"""Item types (list, create, edit, delete): the `itemTypes` of the configuration file, edited in
the console through the same validator and writer as `coop config apply`. Organisation
configuration, so MANAGE_ORG (the reference's Settings → Item Types)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.catalog.models import Action, ItemType
from coop.config.services import save_object
from coop.rules.models import RoutingRule, Rule
from coop.web.config_form import stored
from coop.web.item_type_form import ItemTypeForm
from coop.web.views.config_common import confirm_delete


@require_permission(Permission.MANAGE_ORG)
def item_types(request: HttpRequest) -> HttpResponse:
    types = ItemType.objects.order_by("name", "id")
    return render(request, "web/config/item_types.html", {"item_types": types})


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def item_type_form(request: HttpRequest, type_id: str | None = None) -> HttpResponse:
    """Create an item type (no `type_id`) or edit one."""
    current = None
    if type_id is not None:
        current = stored("itemTypes", type_id)
        if current is None:
            raise Http404("no such item type")
    form = ItemTypeForm(request.POST if request.method == "POST" else None, current=current)
    if request.method == "POST" and not form.edited and form.is_valid():
        result = save_object("itemTypes", form.file_data(), user=request.user)
        if result.ok:
            done = "saved" if current else "created"
            messages.success(request, f"Item type “{form.cleaned_data['name']}” is {done}.")
            return redirect("item-types")
        form.add_save_errors(result)
    status = 400 if form.errors or form.rows.has_errors else 200
    context = {"form": form, "current": current}
    return render(request, "web/config/item_type_form.html", context, status=status)


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def item_type_delete(request: HttpRequest, type_id: str) -> HttpResponse:
    item_type = get_object_or_404(ItemType, pk=type_id)
    users = [
        *(f"action “{a.name}”" for a in Action.objects.filter(item_types__contains=[type_id])),
        *(f"rule “{r.name}”" for r in Rule.objects.filter(item_types__contains=[type_id])),
        *(
            f"routing rule “{r.name}”"
            for r in RoutingRule.objects.filter(item_types__contains=[type_id])
        ),
    ]
    notes = ["Items already submitted with this type stay in investigation and in their jobs."]
    if users:
        notes.insert(0, "Deletion is refused while it is used by: " + ", ".join(users) + ".")
    return confirm_delete(
        request,
        kind="itemTypes",
        object_id=type_id,
        noun="item type",
        name=item_type.name,
        back_url=reverse("item-type-edit", args=[type_id]),
        back_label="Keep it",
        notes=notes,
        done_url=reverse("item-types"),
    )
