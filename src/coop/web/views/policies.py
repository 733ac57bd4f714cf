"""Policies: the tree with an editor beside it (add a child, move, rename, penalty, strike
weight, text and guidelines, delete). Saved through the configuration writer, so a move that
would make a cycle is refused with the file's message. Permission MANAGE_POLICIES
(accounts.md: policy CRUD)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.catalog.models import Policy
from coop.config.services import save_object
from coop.web.config_form import stored
from coop.web.policy_form import PolicyForm, policy_tree
from coop.web.views.config_common import confirm_delete


@require_permission(Permission.MANAGE_POLICIES)
def policies(request: HttpRequest) -> HttpResponse:
    return render(request, "web/config/policies.html", {"tree": policy_tree(), "form": None})


@require_permission(Permission.MANAGE_POLICIES, methods=("GET", "HEAD", "POST"))
def policy_form(request: HttpRequest, policy_id: str | None = None) -> HttpResponse:
    """Create a policy (no `policy_id`; `?parent=` makes it a child) or edit one."""
    current = None
    if policy_id is not None:
        current = stored("policies", policy_id)
        if current is None:
            raise Http404("no such policy")
    tree = policy_tree()
    data = request.POST if request.method == "POST" else None
    form = PolicyForm(data, current=current, tree=tree, parent=request.GET.get("parent"))
    if request.method == "POST" and form.is_valid():
        file_data = form.file_data()
        result = save_object("policies", file_data, user=request.user)
        if result.ok:
            done = "saved" if current else "created"
            messages.success(request, f"Policy “{file_data['name']}” is {done}.")
            return redirect("policy-edit", file_data["id"])
        form.add_save_errors(result)
    context = {"tree": tree, "form": form, "current": current}
    return render(request, "web/config/policies.html", context, status=400 if form.errors else 200)


@require_permission(Permission.MANAGE_POLICIES, methods=("GET", "HEAD", "POST"))
def policy_delete(request: HttpRequest, policy_id: str) -> HttpResponse:
    policy = get_object_or_404(Policy, pk=policy_id)
    children = list(policy.children.order_by("name").values_list("name", flat=True))
    notes = [
        "Decisions, strikes and reports that name this policy keep it in their history.",
    ]
    if children:
        notes.insert(
            0,
            "It has child policies (" + ", ".join(children) + "): move them to another parent "
            "or delete them first; deletion is refused while they are under it.",
        )
    return confirm_delete(
        request,
        kind="policies",
        object_id=policy_id,
        noun="policy",
        name=policy.name,
        back_url=reverse("policy-edit", args=[policy_id]),
        back_label="Keep it",
        notes=notes,
        done_url=reverse("policies"),
    )
