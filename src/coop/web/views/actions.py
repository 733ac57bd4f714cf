"""Actions (list, create, edit, delete, "Send test delivery"): the `actions` of the
configuration file, i.e. the webhooks Coop calls on the platform. Organisation configuration,
so MANAGE_ORG (the reference's Settings → Actions)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from coop.accounts.access import is_htmx, require_permission
from coop.accounts.permissions import Permission
from coop.catalog.builtins import BUILTIN_ACTIONS
from coop.catalog.models import Action, ItemType
from coop.config.services import save_object
from coop.enforcement.probe import ProbeResult, send_probe
from coop.web.action_form import ActionForm
from coop.web.config_form import stored
from coop.web.views.config_common import confirm_delete


@require_permission(Permission.MANAGE_ORG)
def actions(request: HttpRequest) -> HttpResponse:
    custom = Action.objects.filter(builtin=False).order_by("name", "id")
    builtin = Action.objects.filter(builtin=True, pk__in=list(BUILTIN_ACTIONS)).order_by("pk")
    names = dict(ItemType.objects.values_list("id", "name"))
    rows = [(a, [names.get(t, t) for t in a.item_types]) for a in custom]
    return render(request, "web/config/actions.html", {"rows": rows, "builtin": builtin})


def _form_page(
    request: HttpRequest, form: ActionForm, current, probe: ProbeResult | None, status: int
) -> HttpResponse:
    context = {"form": form, "current": current, "probe": probe}
    return render(request, "web/config/action_form.html", context, status=status)


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def action_form(request: HttpRequest, action_id: str | None = None) -> HttpResponse:
    """Create a custom action (no `action_id`) or edit one; built-in actions are not editable."""
    current = None
    if action_id is not None:
        current = stored("actions", action_id)
        if current is None:
            raise Http404("no such custom action")
    form = ActionForm(request.POST if request.method == "POST" else None, current=current)
    if request.method == "POST" and not form.edited and form.is_valid():
        result = save_object("actions", form.file_data(), user=request.user)
        if result.ok:
            done = "saved" if current else "created"
            messages.success(request, f"Action “{form.cleaned_data['name']}” is {done}.")
            return redirect("action-edit", form.file_data()["id"])
        form.add_save_errors(result)
    status = 400 if form.errors or form.rows_invalid else 200
    return _form_page(request, form, current, None, status)


@require_permission(Permission.MANAGE_ORG, methods=("POST",))
def action_test_delivery(request: HttpRequest, action_id: str) -> HttpResponse:
    """Send one signed test request to the saved action's callback URL and show it, with the
    answer; htmx gets the result panel, a plain form post the whole page."""
    action = get_object_or_404(Action, pk=action_id, builtin=False)
    probe = send_probe(action, request.user.email)
    if is_htmx(request):
        return render(request, "web/config/_test_delivery.html", {"probe": probe})
    form = ActionForm(current=stored("actions", action_id))
    return _form_page(request, form, form.current, probe, 200)


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def action_delete(request: HttpRequest, action_id: str) -> HttpResponse:
    action = get_object_or_404(Action, pk=action_id, builtin=False)
    notes = [
        "Deletion is refused while a rule, a queue or a strike threshold uses the action.",
        "Past executions and deliveries of this action stay in their history.",
    ]
    return confirm_delete(
        request,
        kind="actions",
        object_id=action_id,
        noun="action",
        name=action.name,
        back_url=reverse("action-edit", args=[action_id]),
        back_label="Keep it",
        notes=notes,
        done_url=reverse("actions"),
    )
