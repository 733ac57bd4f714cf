"""Managing users from the console (accounts.md): change role, deactivate, reactivate.

The actor manages only users whose permissions they hold themselves (so a user manager without
MANAGE_ORG cannot take over an administrator), and the last active administrator can neither
be deactivated nor lose MANAGE_USERS or MANAGE_ROLES (coop.accounts.roles.keeping_an_admin).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db import transaction

from coop.accounts.models import Invite, Role, User
from coop.accounts.roles import ensure_can_grant, keeping_an_admin
from coop.accounts.services import AccountError, deactivate_user


class Status(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    INVITED = "invited"


@dataclass(frozen=True)
class Row:
    """One line of Settings → Users: a user, or an invite not yet accepted."""

    email: str
    name: str
    role: Role
    status: Status
    last_login: datetime | None
    user: User | None = None
    invite: Invite | None = None


def directory() -> list[Row]:
    """Every user and every open invite (expired ones too, so they can be resent), by email."""
    rows = [
        Row(
            email=u.email,
            name=u.name,
            role=u.role,
            status=Status.ACTIVE if u.is_active else Status.DEACTIVATED,
            last_login=u.last_login,
            user=u,
        )
        for u in User.objects.select_related("role")
    ]
    rows += [
        Row(email=i.email, name="", role=i.role, status=Status.INVITED, last_login=None, invite=i)
        for i in Invite.objects.filter(accepted_at=None, revoked_at=None).select_related(
            "role", "invited_by"
        )
    ]
    return sorted(rows, key=lambda row: (row.email, row.status != Status.INVITED))


def ensure_can_manage(actor: User, target: User) -> None:
    missing = sorted(target.role_permissions - actor.permissions)
    if missing:
        raise AccountError(
            f"{target.email} holds permissions you do not have ({', '.join(missing)}): "
            "only a user with all of them can change this account."
        )


def change_role(actor: User, target: User, role: Role) -> None:
    ensure_can_manage(actor, target)
    ensure_can_grant(actor, role.permissions, f"Giving the role “{role.name}”")
    with keeping_an_admin(
        f"{target.email} is the last active administrator (MANAGE_USERS and MANAGE_ROLES): "
        "give another active user such a role first."
    ):
        User.objects.filter(pk=target.pk).update(role=role)
        target.role = role


def deactivate(actor: User, target: User) -> None:
    """Every session of `target` ends at once."""
    if actor.pk == target.pk:
        raise AccountError("You cannot deactivate your own account.")
    ensure_can_manage(actor, target)
    with keeping_an_admin(
        f"{target.email} is the last active administrator (MANAGE_USERS and MANAGE_ROLES): "
        "they cannot be deactivated."
    ):
        deactivate_user(target)


def reactivate(actor: User, target: User) -> None:
    ensure_can_manage(actor, target)
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(is_active=True)
        target.is_active = True
