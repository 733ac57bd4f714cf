"""Roles (accounts.md): the permission matrix, custom roles, and the rule that an organisation
never loses its last administrator.

Permissions are read from the database on every request (the user and their role are loaded
per request, nothing is cached per process), so a change here applies to each user's next
request in every process.

Two safeguards keep a partial administrator from raising themselves: a user changes only the
permissions they hold (on any role), and grants only roles whose permissions they hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from coop.accounts.models import Invite, Role, User
from coop.accounts.permissions import PREDEFINED_ROLES, Permission
from coop.accounts.services import AccountError

# An administrator, for the "last administrator" rule: an active user who can manage users
# and roles, so can give anyone (themselves included) any other permission.
ADMIN_PERMISSIONS = (Permission.MANAGE_USERS, Permission.MANAGE_ROLES)
# Any fixed number: the advisory lock that serialises changes that may remove administrators.
ADMIN_LOCK = 0x436F6F70_41444D4E
ROLE_NAME_MAX = 64
USERS_NAMED = 10  # a refusal names at most this many users


def active_admins() -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, role__permissions__contains=[str(p) for p in ADMIN_PERMISSIONS]
    )


@contextmanager
def keeping_an_admin(refusal: str) -> Iterator[None]:
    """Run a change that may remove administrators in a transaction, one such change at a
    time; if it leaves none where there was one, raise AccountError(refusal) and roll back."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADMIN_LOCK])
        had_admins = active_admins().exists()
        yield
        if had_admins and not active_admins().exists():
            raise AccountError(refusal)


def ensure_can_grant(actor: User, permissions: Iterable[str], what: str) -> None:
    """`actor` may give or take away only permissions they hold themselves."""
    missing = sorted(set(permissions) - actor.permissions)
    if missing:
        raise AccountError(f"{what} needs permissions you do not have: {', '.join(missing)}.")


def clean_role_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise AccountError("Give the role a name.", field="name")
    if len(name) > ROLE_NAME_MAX:
        raise AccountError(f"A role name has at most {ROLE_NAME_MAX} characters.", field="name")
    if not name.isprintable():
        raise AccountError("A role name cannot contain control characters.", field="name")
    return name


def clean_permissions(values: Iterable[str], field: str = "permissions") -> frozenset[str]:
    values = set(values)
    unknown = sorted(values - set(Permission))
    if unknown:
        raise AccountError(f"Unknown permission: {', '.join(unknown[:5])}.", field=field)
    return frozenset(values)


def _name_taken(name: str, exclude: Role | None = None) -> bool:
    roles = Role.objects.filter(name__iexact=name)
    if exclude is not None:
        roles = roles.exclude(pk=exclude.pk)
    return roles.exists()


def _save_name(role: Role, name: str) -> Role:
    if _name_taken(name, exclude=role if role.pk else None):
        raise AccountError(f"A role named “{name}” already exists.", field="name")
    role.name = name
    try:
        with transaction.atomic():
            role.save()
    except IntegrityError as exc:  # a concurrent create or rename took the name
        raise AccountError(f"A role named “{name}” already exists.", field="name") from exc
    return role


def create_role(actor: User, name: str, permissions: Iterable[str] = ()) -> Role:
    """A custom role; its permissions must be ones `actor` holds."""
    name = clean_role_name(name)
    granted = clean_permissions(permissions)
    ensure_can_grant(actor, granted, f"Creating “{name}” with these permissions")
    return _save_name(Role(permissions=sorted(granted), predefined=False), name)


def rename_role(role: Role, name: str) -> Role:
    """Custom roles only: the predefined names are the ones the docs, the command line and
    other deployments use."""
    if role.predefined:
        raise AccountError(f"“{role.name}” is a predefined role: it cannot be renamed.")
    return _save_name(role, clean_role_name(name))


def _describe_users(users: list[str], total: int) -> str:
    more = f" and {total - len(users)} more" if total > len(users) else ""
    return ", ".join(users) + more


def delete_role(role: Role) -> None:
    """Custom roles nobody holds (nor is invited to) only; the refusal names who holds it."""
    if role.predefined:
        raise AccountError(f"“{role.name}” is a predefined role: it cannot be deleted.")
    with transaction.atomic():
        role = Role.objects.select_for_update().get(pk=role.pk)
        holders = User.objects.filter(role=role).order_by("email")
        if (count := holders.count()) > 0:
            emails = list(holders.values_list("email", flat=True)[:USERS_NAMED])
            raise AccountError(
                f"“{role.name}” is the role of {_describe_users(emails, count)}: give "
                f"{'them' if count > 1 else 'that user'} another role first."
            )
        invited = Invite.objects.filter(role=role, accepted_at=None, revoked_at=None)
        if (count := invited.count()) > 0:
            emails = list(invited.values_list("email", flat=True)[:USERS_NAMED])
            raise AccountError(
                f"“{role.name}” is the role of pending invites for "
                f"{_describe_users(emails, count)}: revoke them first."
            )
        role.delete()


def set_permissions(actor: User, matrix: Mapping[int, Iterable[str]]) -> list[Role]:
    """Give each role (by id) exactly the permissions listed; the roles that changed.

    All or nothing: an unknown role or permission, a change to a permission `actor` does not
    hold, or a change that leaves no active administrator changes nothing.
    """
    wanted = {role_id: clean_permissions(perms) for role_id, perms in matrix.items()}
    changed = []
    with keeping_an_admin(
        "That would leave no active user with both MANAGE_USERS and MANAGE_ROLES: "
        "keep them on at least one active administrator's role."
    ):
        roles = {r.pk: r for r in Role.objects.select_for_update().filter(pk__in=wanted)}
        if missing := set(wanted) - set(roles):
            raise AccountError(f"No role with id {sorted(missing)[0]}.")
        for role_id, permissions in wanted.items():
            role = roles[role_id]
            before = frozenset(role.permissions)
            if before == permissions:
                continue
            ensure_can_grant(actor, before ^ permissions, f"Changing “{role.name}”")
            role.permissions = sorted(permissions)
            role.save(update_fields=["permissions"])
            changed.append(role)
    return changed


def restore_defaults(actor: User, role: Role) -> bool:
    """Put a predefined role's permissions back to accounts.md's table; whether they changed."""
    if not role.predefined or role.name not in PREDEFINED_ROLES:
        raise AccountError(f"“{role.name}” is a custom role: it has no defaults.")
    return bool(set_permissions(actor, {role.pk: PREDEFINED_ROLES[role.name]}))
