"""Settings → Roles (MANAGE_ROLES): the permission matrix and custom roles (accounts.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from coop.accounts import roles as role_service
from coop.accounts.access import require_permission
from coop.accounts.models import Role
from coop.accounts.permissions import DESCRIPTIONS, PREDEFINED_ROLES, Permission
from coop.accounts.services import AccountError
from coop.web.account_forms import NewRoleForm, RoleNameForm, add_account_error

POST = ("POST",)
ROLE_FIELD = "role-{}"  # the matrix's checkboxes of one role: role-<id>=PERMISSION …


@dataclass(frozen=True)
class Cell:
    role: Role
    checked: bool
    editable: bool  # the editor holds this permission (coop.accounts.roles)


@dataclass(frozen=True)
class RoleInfo:
    role: Role
    at_defaults: bool  # predefined roles: the permissions are accounts.md's defaults
    rename_error: str | None = None


@dataclass(frozen=True)
class MatrixRow:
    permission: str
    description: str
    cells: list[Cell]


def ordered_roles() -> list[Role]:
    """The predefined roles in accounts.md's order, then the custom ones by name."""
    found = list(Role.objects.annotate(holders=Count("users")))
    order = {name: i for i, name in enumerate(PREDEFINED_ROLES)}
    return sorted(found, key=lambda r: (not r.predefined, order.get(r.name, 0), r.name.lower()))


def _page(
    request: HttpRequest,
    *,
    new_form: NewRoleForm | None = None,
    rename_errors: dict[int, str] | None = None,
    matrix_error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    roles = ordered_roles()
    mine = request.user.permissions
    rows = [
        MatrixRow(
            permission=str(p),
            description=DESCRIPTIONS[p],
            cells=[Cell(role, role.grants(p), str(p) in mine) for role in roles],
        )
        for p in Permission
    ]
    rename_errors = rename_errors or {}
    infos = [
        RoleInfo(
            role=r,
            at_defaults=frozenset(r.permissions) == PREDEFINED_ROLES.get(r.name),
            rename_error=rename_errors.get(r.pk),
        )
        for r in roles
    ]
    context = {
        "roles": roles,
        "rows": rows,
        "custom": [info for info in infos if not info.role.predefined],
        "predefined": [info for info in infos if info.role.predefined],
        "new_form": new_form or NewRoleForm(),
        "matrix_error": matrix_error,
    }
    return render(request, "web/settings/roles.html", context, status=status)


def _submitted_matrix(request: HttpRequest) -> dict[int, list[str]]:
    """role id -> the permissions ticked; every role the form listed is in it, so a role with
    nothing ticked loses everything. Raises AccountError for ids that are not numbers."""
    try:
        ids = [int(value) for value in request.POST.getlist("roles")]
    except ValueError as exc:
        raise AccountError("The form names a role that does not exist.") from exc
    return {role_id: request.POST.getlist(ROLE_FIELD.format(role_id)) for role_id in ids}


@require_permission(Permission.MANAGE_ROLES, methods=("GET", "HEAD", "POST"))
def roles_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    try:
        changed = role_service.set_permissions(request.user, _submitted_matrix(request))
    except AccountError as error:
        return _page(request, matrix_error=str(error), status=400)
    if changed:
        names = ", ".join(f"“{r.name}”" for r in changed)
        messages.success(
            request, f"Saved {names}. Users with these roles see it on their next page."
        )
    else:
        messages.info(request, "Nothing changed.")
    return redirect("settings-roles")


@require_permission(Permission.MANAGE_ROLES, methods=POST)
def create_role(request: HttpRequest) -> HttpResponse:
    form = NewRoleForm(request.POST)
    if form.is_valid():
        start = form.cleaned_data["start_from"]
        try:
            role = role_service.create_role(
                request.user, form.cleaned_data["name"], start.permissions if start else ()
            )
        except AccountError as error:
            add_account_error(form, error)
        else:
            messages.success(request, f"Role “{role.name}” created. Tick its permissions below.")
            return redirect("settings-roles")
    return _page(request, new_form=form, status=400)


@require_permission(Permission.MANAGE_ROLES, methods=POST)
def rename_role(request: HttpRequest, role_id: int) -> HttpResponse:
    role = get_object_or_404(Role, pk=role_id)
    form = RoleNameForm(request.POST)
    old = role.name
    try:
        if not form.is_valid():
            raise AccountError(form.errors["name"][0], field="name")
        role_service.rename_role(role, form.cleaned_data["name"])
    except AccountError as error:
        return _page(request, rename_errors={role_id: str(error)}, status=400)
    messages.success(request, f"“{old}” is now “{role.name}”.")
    return redirect("settings-roles")


@require_permission(Permission.MANAGE_ROLES, methods=POST)
def delete_role(request: HttpRequest, role_id: int) -> HttpResponse:
    role = get_object_or_404(Role, pk=role_id)
    try:
        role_service.delete_role(role)
    except AccountError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Role “{role.name}” deleted.")
    return redirect("settings-roles")


@require_permission(Permission.MANAGE_ROLES, methods=POST)
def restore_role(request: HttpRequest, role_id: int) -> HttpResponse:
    role = get_object_or_404(Role, pk=role_id)
    try:
        changed = role_service.restore_defaults(request.user, role)
    except AccountError as error:
        messages.error(request, str(error))
    else:
        done = "has its default permissions again" if changed else "already had its defaults"
        messages.success(request, f"“{role.name}” {done}.")
    return redirect("settings-roles")
