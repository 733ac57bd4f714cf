"""Rules (rules.md, proactive rules): the list, a rule's page, the form with the condition
builder, live validation and the spot test.

Seeing rules is VIEW_RULES_DASHBOARD. Changing them is checked per status on the server
(accounts.md): the form pages need MUTATE_NON_LIVE_RULES, and changing a LIVE rule, making a
rule LIVE or deleting a LIVE one needs MUTATE_LIVE_RULES as well (`may_change`). Every change
goes through `coop.config.services.save_object`, the validator of `coop config apply`.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from coop.accounts.access import forbidden, is_htmx, require_permission
from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog.models import ConfigChange, ItemType
from coop.config.history import diff
from coop.config.services import save_object
from coop.core.enums import RuleStatus
from coop.insights import dashboards, queries
from coop.insights.alarms import alarm_states
from coop.review.visibility import may_see_child_safety
from coop.rules import listing
from coop.rules.models import Rule
from coop.rules.spot_test import SpotItem, SpotTestError, latest_item, pasted_item, spot_test
from coop.web.config_form import stored
from coop.web.rule_builder import Names, annotated, builder_catalog, current_registry, readable
from coop.web.rule_form import RuleForm, may_change
from coop.web.views import backtests
from coop.web.views.config_common import confirm_delete

HISTORY = 10  # versions shown with their diffs on a rule page
LIVE_REFUSED = (
    "Changing a LIVE rule, or making a rule LIVE, needs the MUTATE_LIVE_RULES permission."
)


class ListFilter(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=listing.MAX_QUERY)
    status = forms.ChoiceField(label="Status", required=False)
    tag = forms.CharField(label="Tag", required=False, max_length=64)
    item_type = forms.ChoiceField(label="Item type", required=False)
    owner = forms.TypedChoiceField(label="Owner", required=False, coerce=int, empty_value=None)

    def __init__(self, data) -> None:
        super().__init__(data)
        self.fields["status"].choices = [("", "Any status")] + [
            (s, s) for s in [*RuleStatus.values, listing.EXPIRED]
        ]
        self.fields["item_type"].choices = [
            ("", "Any item type"),
            *ItemType.objects.order_by("name").values_list("id", "name"),
        ]
        owners = User.objects.filter(pk__in=Rule.objects.values("owner")).order_by("email")
        self.fields["owner"].choices = [("", "Anyone")] + [(u.pk, u.email) for u in owners]


@require_permission(Permission.VIEW_RULES_DASHBOARD)
def rules(request: HttpRequest) -> HttpResponse:
    form = ListFilter(request.GET)
    rows: list[listing.RuleRow] = []
    if form.is_valid():
        d = form.cleaned_data
        wanted = listing.RuleFilter(
            d["q"], d["status"], d["tag"].strip(), d["item_type"], d["owner"]
        )
        rows = listing.rule_rows(request.user, wanted, timezone.now())
    type_names = dict(ItemType.objects.values_list("id", "name"))
    ids = [row.rule.pk for row in rows]
    passes, alarms = queries.rule_activity(ids), alarm_states(ids)
    context = {
        "form": form,
        "rows": [
            {
                "row": row,
                "item_types": [type_names.get(t, t) for t in row.rule.item_types],
                "passes": passes.get(row.rule.pk, ()),
                "alarm": alarms.get(row.rule.pk),
            }
            for row in rows
        ],
        "tags": listing.all_tags(),
        "filtered": any(v for k, v in request.GET.items()),
        "may_create": request.user.has_permission(Permission.MUTATE_NON_LIVE_RULES),
    }
    return render(request, "web/rules/list.html", context, status=200 if form.is_valid() else 400)


def _rule(rule_id: str) -> Rule:
    return get_object_or_404(Rule.objects.select_related("owner"), pk=rule_id)


@require_permission(Permission.VIEW_RULES_DASHBOARD)
def rule(request: HttpRequest, rule_id: str) -> HttpResponse:
    found = _rule(rule_id)
    registry = current_registry()
    names = Names(registry)
    samples = [
        {"execution": e, "tree": annotated(e.result, None, names)}
        for e in listing.passing_samples(found.pk)
    ]
    changes = list(
        ConfigChange.objects.filter(kind="rules", object_id=found.pk)
        .select_related("changed_by")
        .order_by("-id")[:HISTORY]
    )
    user = request.user
    type_names = dict(ItemType.objects.values_list("id", "name"))
    choice = dashboards.choose_window(request.GET)
    context = {
        "rule": found,
        "alarm": alarm_states([found.pk]).get(found.pk),
        "choice": choice,
        "chart": dashboards.rule_activity_chart(
            found.pk, choice.window, may_see_child_safety(user)
        ),
        "status": listing.shown_status(found, timezone.now()),
        "starred": listing.is_starred(found, user),
        "item_type_labels": [type_names.get(t, t) for t in found.item_types],
        "policy_labels": [names.policies.get(p, p) for p in found.policies],
        "definition": readable(found.condition, names),
        "samples": samples,
        "history": [(c, diff(c.before, c.data)) for c in changes],
        "may_edit": user.has_permission(Permission.MUTATE_NON_LIVE_RULES)
        and may_change(user, found.status, found.status),
        "may_backtest": user.has_permission(Permission.RUN_BACKTEST),
        "may_retroact": user.has_permission(Permission.RUN_RETROACTION)
        and found.status == RuleStatus.LIVE,
        "spot_url": reverse("rule-spot-test", args=[found.pk]),
        "spot_types": [(t, type_names.get(t, t)) for t in found.item_types],
    }
    return render(request, "web/rules/detail.html", context)


def _form_context(form: RuleForm, current, user: User) -> dict:
    return {
        "form": form,
        "current": current,
        "live_locked": current is not None
        and current["status"] == RuleStatus.LIVE
        and not may_change(user, RuleStatus.LIVE, RuleStatus.LIVE),
        "catalog": builder_catalog(),
        "condition_errors": form.condition_errors_json,
        "spot_types": list(ItemType.objects.order_by("name").values_list("id", "name")),
        "may_backtest": user.has_permission(Permission.RUN_BACKTEST),
    }


@require_permission(Permission.MUTATE_NON_LIVE_RULES, methods=("GET", "HEAD", "POST"))
def rule_form(request: HttpRequest, rule_id: str | None = None) -> HttpResponse:
    current = None
    if rule_id is not None:
        current = stored("rules", rule_id)
        if current is None:
            raise Http404("no such rule")
    data = request.POST if request.method == "POST" else None
    form = RuleForm(data, current=current)
    status = 200
    if request.method == "POST" and form.is_valid():
        before = current["status"] if current else None
        if not may_change(request.user, before, form.cleaned_data["status"]):
            form.add_error("status", LIVE_REFUSED)
            status = 403
        else:
            result = save_object("rules", form.file_data(), user=request.user)
            if result.ok:
                done = "saved" if current else "created"
                messages.success(request, f"Rule “{form.cleaned_data['name']}” is {done}.")
                return redirect("rule", form.file_data()["id"])
            form.add_save_errors(result)
    if form.has_errors and status == 200:
        status = 400
    return render(
        request, "web/rules/form.html", _form_context(form, current, request.user), status=status
    )


@require_permission(Permission.RUN_BACKTEST, methods=("POST",))
def rule_backtest_draft(request: HttpRequest, rule_id: str) -> HttpResponse:
    """ "Backtest as edited" on the rule form: the backtest form with the unsaved rule."""
    current = stored("rules", rule_id)
    if current is None:
        raise Http404("no such rule")
    form = RuleForm(request.POST, current=current)
    if not form.is_valid():
        context = _form_context(form, current, request.user)
        return render(request, "web/rules/form.html", context, status=400)
    definition = json.dumps(form.file_data())
    return backtests.backtest_page_for(request, _rule(rule_id), definition)


def _draft(request: HttpRequest) -> RuleForm:
    """The form as posted by the builder page (`editing`: the id of the rule being edited)."""
    current = None
    editing = request.POST.get("editing", "")
    if editing:
        current = stored("rules", editing)
        if current is None:
            raise Http404("no such rule")
    return RuleForm(request.POST, current=current)


def _validated(form: RuleForm, request: HttpRequest) -> bool:
    """Every check a save would make, nothing saved."""
    if not form.is_valid():
        return False
    result = save_object("rules", form.file_data(), user=request.user, dry_run=True)
    form.add_save_errors(result)
    return result.ok


@require_permission(Permission.MUTATE_NON_LIVE_RULES, methods=("POST",))
def rule_validate(request: HttpRequest) -> HttpResponse:
    """Live validation (htmx): the validator's messages for the rule as edited."""
    form = _draft(request)
    ok = _validated(form, request)
    return render(request, "web/rules/_validation.html", {"form": form, "ok": ok})


def _spot_item(request: HttpRequest) -> SpotItem:
    post = request.POST
    type_id = post.get("spot_type", "")
    if post.get("spot_source") == "json":
        return pasted_item(type_id, post.get("spot_json", ""), post.get("spot_id", ""))
    return latest_item(type_id, post.get("spot_id", ""))


def _spot_response(
    request: HttpRequest, condition: object, item_types: list[str], automated: bool
) -> HttpResponse:
    context: dict = {}
    try:
        result = spot_test(condition, item_types, _spot_item(request), automated=automated)
    except SpotTestError as exc:
        context["input_error"] = exc
    else:
        context["result"] = result
        if result.tree is not None:
            context["tree"] = annotated(result.tree, condition, Names())
    return render(request, "web/rules/_spot_result.html", context)


@require_permission(Permission.MUTATE_NON_LIVE_RULES, methods=("POST",))
def rule_spot_test_draft(request: HttpRequest) -> HttpResponse:
    """The spot test on the form: the rule as edited, unsaved."""
    form = _draft(request)
    if not _validated(form, request):
        return render(
            request, "web/rules/_validation.html", {"form": form, "ok": False, "spot": True}
        )
    data = form.file_data()
    return _spot_response(request, data["condition"], data["itemTypes"], bool(data["actions"]))


@require_permission(Permission.VIEW_RULES_DASHBOARD, methods=("POST",))
def rule_spot_test(request: HttpRequest, rule_id: str) -> HttpResponse:
    """The spot test on the rule page: the saved rule."""
    found = _rule(rule_id)
    return _spot_response(request, found.condition, found.item_types, bool(found.actions))


@require_permission(Permission.VIEW_RULES_DASHBOARD, methods=("POST",))
def rule_star(request: HttpRequest, rule_id: str) -> HttpResponse:
    found = _rule(rule_id)
    starred = request.POST.get("starred") == "1"
    listing.star(found, request.user, starred)
    if is_htmx(request):
        return render(request, "web/rules/_star.html", {"rule": found, "starred": starred})
    if request.POST.get("back") == "rule":
        return redirect("rule", found.pk)
    return redirect("rules")


@require_permission(Permission.MUTATE_NON_LIVE_RULES, methods=("POST",))
def rule_archive(request: HttpRequest, rule_id: str) -> HttpResponse:
    """Archive: kept with its history, no longer evaluated."""
    current = stored("rules", rule_id)
    if current is None:
        raise Http404("no such rule")
    if not may_change(request.user, current["status"], RuleStatus.ARCHIVED):
        return forbidden(request)
    result = save_object(
        "rules", {**current, "status": RuleStatus.ARCHIVED.value}, user=request.user
    )
    if result.ok:
        messages.success(request, f"Rule “{current['name']}” is archived.")
    else:
        messages.error(request, "; ".join(str(e) for e in result.errors))
    return redirect("rule", rule_id)


@require_permission(Permission.MUTATE_NON_LIVE_RULES, methods=("GET", "HEAD", "POST"))
def rule_delete(request: HttpRequest, rule_id: str) -> HttpResponse:
    found = _rule(rule_id)
    if not may_change(request.user, found.status, None):
        return forbidden(request)
    return confirm_delete(
        request,
        kind="rules",
        object_id=rule_id,
        noun="rule",
        name=found.name,
        back_url=reverse("rule", args=[rule_id]),
        back_label="Keep it",
        notes=[
            "Its execution log stays (investigation and insights still show past evaluations).",
            "Archiving keeps the rule and its history instead.",
        ],
        done_url=reverse("rules"),
    )
