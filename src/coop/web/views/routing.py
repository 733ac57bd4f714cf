"""Routing rules and appeal routing rules (rules.md, routing rules): two ordered lists, first
match wins; create, edit, delete, and reorder by drag or by the Move up / Move down buttons.
Every change goes through the configuration writer (`reorder_routing_rules` for the order).
Permission MANAGE_ROUTING_RULES (accounts.md)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.catalog.models import ItemType, Policy
from coop.config.services import reorder_routing_rules, save_object
from coop.review.models import Queue
from coop.rules.models import RoutingKind, RoutingRule
from coop.web.config_form import stored
from coop.web.routing_form import APPEALS, ROUTING, RoutingRuleForm, describe
from coop.web.views.config_common import confirm_delete

# URL segment -> (configuration kind, model kind, heading)
LISTS = {
    "rules": (ROUTING, RoutingKind.ROUTING, "Routing rules"),
    "appeal-rules": (APPEALS, RoutingKind.APPEAL, "Appeal routing rules"),
}


def _list(name: str) -> tuple[str, str, str]:
    if name not in LISTS:
        raise Http404("no such routing list")
    return LISTS[name]


def _rules(model_kind: str) -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(kind=model_kind).order_by("position"))


@require_permission(Permission.MANAGE_ROUTING_RULES)
def routing(request: HttpRequest) -> HttpResponse:
    type_names = dict(ItemType.objects.values_list("id", "name"))
    queue_names = dict(Queue.objects.values_list("id", "name"))
    policy_names = dict(Policy.objects.values_list("id", "name"))
    sections = []
    for name, (_, model_kind, heading) in LISTS.items():
        rules = [
            {
                "rule": rule,
                "item_types": [type_names.get(t, t) for t in rule.item_types],
                "queue": queue_names.get(rule.queue_id, rule.queue_id),
                "condition": describe(rule.condition, policy_names),
            }
            for rule in _rules(model_kind)
        ]
        default = Queue.objects.filter(is_default=True, is_appeals=name == "appeal-rules").first()
        sections.append({"name": name, "heading": heading, "rules": rules, "default": default})
    return render(request, "web/config/routing.html", {"sections": sections})


@require_permission(Permission.MANAGE_ROUTING_RULES, methods=("GET", "HEAD", "POST"))
def routing_rule_form(
    request: HttpRequest, list_name: str, rule_id: str | None = None
) -> HttpResponse:
    kind, _, heading = _list(list_name)
    current = None
    if rule_id is not None:
        current = stored(kind, rule_id)
        if current is None:
            raise Http404("no such routing rule")
    data = request.POST if request.method == "POST" else None
    form = RoutingRuleForm(data, kind=kind, current=current)
    if request.method == "POST" and not form.edited and form.is_valid():
        result = save_object(kind, form.file_data(), user=request.user)
        if result.ok:
            done = "saved" if current else "created"
            messages.success(request, f"Routing rule “{form.cleaned_data['name']}” is {done}.")
            return redirect("routing")
        form.add_save_errors(result)
    invalid = form.errors or form.conditions.has_errors or form.switch_error
    context = {"form": form, "current": current, "list_name": list_name, "heading": heading}
    template = "web/config/routing_rule_form.html"
    return render(request, template, context, status=400 if invalid else 200)


@require_permission(Permission.MANAGE_ROUTING_RULES, methods=("GET", "HEAD", "POST"))
def routing_rule_delete(request: HttpRequest, list_name: str, rule_id: str) -> HttpResponse:
    kind, model_kind, _ = _list(list_name)
    rule = RoutingRule.objects.filter(pk=rule_id, kind=model_kind).first()
    if rule is None:
        raise Http404("no such routing rule")
    return confirm_delete(
        request,
        kind=kind,
        object_id=rule_id,
        noun="routing rule",
        name=rule.name,
        back_url=reverse("routing-rule-edit", args=[list_name, rule_id]),
        back_label="Keep it",
        notes=["Jobs it matched stay in their queues; the rules after it move up one place."],
        done_url=reverse("routing"),
    )


@require_permission(Permission.MANAGE_ROUTING_RULES, methods=("POST",))
def routing_reorder(request: HttpRequest, list_name: str) -> HttpResponse:
    """A new order: `order` (every id, as dragged) or `move` + `direction` (up/down, the
    keyboard buttons). JSON for the page's script, a redirect for a plain form post."""
    kind, model_kind, _ = _list(list_name)
    current = [rule.pk for rule in _rules(model_kind)]
    order = _new_order(current, request.POST)
    error = ""
    if order is None:
        error = "The list has changed since this page was loaded; reload it and try again."
    elif order != current:
        try:
            result = reorder_routing_rules(kind, order, user=request.user)
        except ValueError:  # changed between the read above and the writer's
            result = None
        if result is None:
            error = "The list has changed since this page was loaded; reload it and try again."
        elif not result.ok:
            error = "; ".join(str(e) for e in result.errors)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if wants_json:
        if error:
            return JsonResponse({"error": error, "order": current}, status=409)
        return JsonResponse({"order": order})
    if error:
        messages.error(request, error)
    return redirect(reverse("routing") + f"#{list_name}")


def _new_order(current: list[str], data) -> list[str] | None:
    """The order asked for, or None when it does not name exactly the current rules."""
    moved = data.get("move")
    if moved is not None:
        if moved not in current:
            return None
        i = current.index(moved)
        j = {"up": i - 1, "down": i + 1}.get(data.get("direction"), i)
        order = list(current)
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
        return order
    order = data.getlist("order")
    return order if sorted(order) == sorted(current) and len(set(order)) == len(order) else None
