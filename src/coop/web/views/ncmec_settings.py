"""Settings → NCMEC: configuration editing, so it lives above coop.config with the other
configuration pages; the settings themselves are read through coop.childsafety.settings."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.catalog.credentials import describe_credential
from coop.childsafety.reporting import ncmec_is_test
from coop.childsafety.settings import missing_for_reporting, ncmec_settings
from coop.config.services import save_object
from coop.web.ncmec_form import NcmecSettingsForm


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def settings_ncmec(request: HttpRequest) -> HttpResponse:
    current = ncmec_settings()
    data = request.POST if request.method == "POST" else None
    form = NcmecSettingsForm(data, current=current)
    if data is not None and form.is_valid():
        result = save_object("ncmec", form.file_data(), user=request.user)
        if result.ok:
            messages.success(request, "The NCMEC settings are saved.")
            return redirect("settings-ncmec")
        form.add_save_errors(result.errors)
    context = {
        "form": form,
        "password": describe_credential(current["password"]),
        "missing": missing_for_reporting(current),
        "is_test": ncmec_is_test(),
    }
    return render(request, "web/settings/ncmec.html", context, status=400 if form.errors else 200)
