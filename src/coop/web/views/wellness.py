"""The account page (personal wellness preferences) and Settings → Wellness (org defaults)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.accounts.services import set_wellness_preferences
from coop.accounts.wellness import effective_wellness, org_wellness
from coop.web.wellness_forms import OrgWellnessForm, PersonalWellnessForm, save_org_wellness

SAMPLE_IMAGE = "coop/wellness-sample.svg"
SAMPLE_VIDEO = "coop/wellness-sample.webm"


def _samples(request: HttpRequest) -> dict:
    """Absolute URLs of the shipped samples: the media tag accepts http(s) URLs only."""
    return {
        "sample_image": request.build_absolute_uri(static(SAMPLE_IMAGE)),
        "sample_video": request.build_absolute_uri(static(SAMPLE_VIDEO)),
    }


@require_permission(methods=("GET", "HEAD", "POST"))
def account(request: HttpRequest) -> HttpResponse:
    defaults = org_wellness()
    if request.method == "POST":
        form = PersonalWellnessForm(request.POST, defaults=defaults)
        if form.is_valid():
            set_wellness_preferences(request.user, **form.cleaned_data)
            messages.success(request, "Your wellness preferences are saved.")
            return redirect("account")
    else:
        initial = PersonalWellnessForm.initial_for(request.user)
        form = PersonalWellnessForm(initial=initial, defaults=defaults)
    context = {
        "form": form,
        "defaults": defaults,
        "wellness": effective_wellness(request.user, defaults),
        **_samples(request),
    }
    return render(request, "web/account.html", context)


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def settings_wellness(request: HttpRequest) -> HttpResponse:
    current = org_wellness()
    form = OrgWellnessForm(
        request.POST if request.method == "POST" else None,
        initial=OrgWellnessForm.initial_for(current),
    )
    if form.is_valid():
        result = save_org_wellness(form.wellness(), user=request.user)
        if result.ok:
            messages.success(request, "The organisation's wellness defaults are saved.")
            return redirect("settings-wellness")
        form.add_save_errors(result.errors)
    context = {"form": form, "wellness": current, **_samples(request)}
    return render(request, "web/settings/wellness.html", context)
