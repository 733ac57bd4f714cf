"""Settings → API Keys: platform API keys (accounts.md), with the webhook verification key
that api.md places here too (its rotation and snippets are on Settings → Signing key)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers

from coop.accounts.access import require_permission
from coop.accounts.models import ApiKey
from coop.accounts.permissions import Permission
from coop.accounts.services import active_signing_key, create_api_key, revoke_api_key
from coop.web.forms import ApiKeyForm


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST if request.method == "POST" else None)
    created = None
    if form.is_valid():
        created = create_api_key(form.cleaned_data["name"], created_by=request.user)
        form = ApiKeyForm()
    context = {
        "form": form,
        "created_key": created[0] if created else None,
        "clear_key": created[1] if created else None,
        "keys": ApiKey.objects.all(),
        "signing_key": active_signing_key(),
    }
    response = render(request, "web/settings/api_keys.html", context)
    # The clear key is in this response only: keep it out of every cache.
    add_never_cache_headers(response)
    return response


@require_permission(Permission.MANAGE_ORG, methods=("POST",))
def revoke_key(request: HttpRequest, key_id: uuid.UUID) -> HttpResponse:
    try:
        api_key = revoke_api_key(key_id)
    except ApiKey.DoesNotExist as exc:
        raise Http404("No such API key") from exc
    messages.success(request, f"API key “{api_key.name}” is revoked.")
    return redirect("settings-api-keys")
