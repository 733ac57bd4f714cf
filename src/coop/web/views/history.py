"""Settings → History: every configuration change, from the console or `coop config apply`,
with who, when, the object and what changed (coop.config.history).

MANAGE_ORG: the history shows every kind of object, settings and NCMEC details included, so it
needs the permission that manages the organisation's settings (accounts.md, reference 5.1).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from coop.accounts.access import is_htmx, require_permission
from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog.models import ConfigChange
from coop.config.history import NO_USER, diff, history_page, is_singleton, kind_label
from coop.config.kinds import KINDS
from coop.config.schema import ID_PATTERN


class HistoryFilter(forms.Form):
    kind = forms.ChoiceField(label="Kind", required=False)
    user = forms.TypedChoiceField(label="Changed by", required=False, coerce=int, empty_value=None)
    object = forms.CharField(label="Object id", required=False, max_length=64)
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, data) -> None:
        super().__init__(data)
        self.fields["kind"].choices = [("", "All kinds")] + [
            (kind.key, kind_label(kind.key)) for kind in KINDS
        ]
        people = User.objects.filter(
            pk__in=ConfigChange.objects.filter(changed_by__isnull=False).values("changed_by")
        ).order_by("email")
        self.fields["user"].choices = [
            ("", "Anyone"),
            *((u.pk, u.email) for u in people),
            (NO_USER, "No user (coop config apply)"),
        ]

    def clean_object(self) -> str:
        value = self.cleaned_data["object"].strip()
        if value and not ID_PATTERN.fullmatch(value):
            raise forms.ValidationError("Not an object id.")
        return value


@require_permission(Permission.MANAGE_ORG)
def history(request: HttpRequest) -> HttpResponse:
    form = HistoryFilter(request.GET)
    if not form.is_valid():
        context = {"form": form, "changes": [], "next_url": None, "newest_url": None}
        return render(request, "web/settings/history.html", context, status=400)
    filters = {
        "kind": form.cleaned_data["kind"] or None,
        "object_id": form.cleaned_data["object"] or None,
        "user_id": form.cleaned_data["user"],
    }
    page = history_page(**filters, before_id=form.cleaned_data["before"])
    query = {k: v for k, v in form.cleaned_data.items() if k != "before" and v not in ("", None)}
    older = {**query, "before": page.next_cursor} if page.next_cursor is not None else None
    context = {
        "form": form,
        "changes": [
            (c, kind_label(c.kind), is_singleton(c.kind, c.object_id)) for c in page.changes
        ],
        "next_url": f"?{urlencode(older)}" if older else None,
        "newest_url": f"?{urlencode(query)}" if form.cleaned_data["before"] else None,
    }
    return render(request, "web/settings/history.html", context)


@require_permission(Permission.MANAGE_ORG)
def change(request: HttpRequest, change_id: int) -> HttpResponse:
    """One change with its diff; only the diff when htmx asks (inline in the list)."""
    config_change = get_object_or_404(
        ConfigChange.objects.select_related("changed_by"), pk=change_id
    )
    context = {
        "change": config_change,
        "kind": kind_label(config_change.kind),
        "singleton": is_singleton(config_change.kind, config_change.object_id),
        "diff": diff(config_change.before, config_change.data),
    }
    template = "web/settings/_diff.html" if is_htmx(request) else "web/settings/history_change.html"
    return render(request, template, context)
