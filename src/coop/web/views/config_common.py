"""The delete confirmation shared by the configuration pages (item types, policies, actions,
routing rules): a GET shows what will happen, a POST deletes through
`coop.config.services.delete_object`, which refuses (with what still uses the object) exactly
what `coop config apply --prune` would refuse."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from coop.config.services import delete_object


def confirm_delete(
    request: HttpRequest,
    *,
    kind: str,
    object_id: str,
    noun: str,
    name: str,
    back_url: str,
    back_label: str,
    notes: list[str] = (),
    done_url: str | None = None,
) -> HttpResponse:
    errors: list[str] = []
    if request.method == "POST":
        result = delete_object(kind, object_id, user=request.user)
        if result.ok:
            messages.success(request, f"{noun.capitalize()} “{name}” is deleted.")
            return redirect(done_url or back_url)
        errors = [str(e) for e in result.errors]
    context = {
        "noun": noun,
        "name": name,
        "object_id": object_id,
        "back_url": back_url,
        "back_label": back_label,
        "notes": list(notes),
        "errors": errors,
    }
    return render(request, "web/config/delete.html", context, status=400 if errors else 200)
