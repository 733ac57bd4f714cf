"""Invites (accounts.md): an admin invites an email with a role; the link (token stored hashed)
works once, until COOP_INVITE_DAYS have passed; accepting sets the name and password.

An invite link that is expired, used, revoked or made up gets the same answer (`None` from
`open_invite`), which says nothing about the account.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from coop import mail
from coop.accounts.models import Invite, Role, User
from coop.accounts.roles import ensure_can_grant
from coop.accounts.services import AccountError
from coop.accounts.tokens import lookup_hash, new_token
from coop.catalog.org_settings import org_settings

NAME_MAX = 200


def invite_lifetime() -> timedelta:
    return timedelta(days=settings.COOP_INVITE_DAYS)


def invite_link(token: str) -> str:
    return settings.BASE_URL + reverse("accept-invite", args=[token])


def clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AccountError("Enter a valid email address.", field="email") from exc
    return email


def create_invite(actor: User, email: str, role: Role) -> tuple[Invite, str]:
    """A new invite and its link token (returned once, never stored). It replaces any open
    invite for the same email, whose link stops working."""
    email = clean_email(email)
    ensure_can_grant(actor, role.permissions, f"Inviting as “{role.name}”")
    if User.objects.filter(email=email).exists():
        raise AccountError(f"{email} already has an account.", field="email")
    token, token_hash = new_token()
    now = timezone.now()
    try:
        with transaction.atomic():
            Invite.objects.filter(email=email, accepted_at=None, revoked_at=None).update(
                revoked_at=now
            )
            invite = Invite.objects.create(
                email=email,
                role=role,
                token_hash=token_hash,
                invited_by=actor,
                created_at=now,
                expires_at=now + invite_lifetime(),
            )
    except IntegrityError as exc:  # a concurrent invite for the same email won
        raise AccountError(f"{email} was invited at the same moment; try again.", "email") from exc
    return invite, token


def invite_email(invite: Invite, token: str) -> tuple[str, str]:
    """Subject and body; the expiry is the invite's own."""
    organisation = org_settings()["organization"]["name"]
    inviter = "An administrator"
    if invite.invited_by is not None:
        inviter = invite.invited_by.name or invite.invited_by.email
    days = round((invite.expires_at - invite.created_at) / timedelta(days=1))
    subject = f"You are invited to {organisation} on Coop"
    body = (
        f"{inviter} invited you to join {organisation} on Coop as {invite.role.name}.\n\n"
        f"Accept the invite and choose your password here:\n{invite_link(token)}\n\n"
        f"The link works once and expires on {invite.expires_at:%Y-%m-%d at %H:%M} UTC "
        f"(in {days} day{'s' if days != 1 else ''}).\n"
        "If you did not expect this invite, ignore this email.\n"
    )
    return subject, body


def send_invite(invite: Invite, token: str) -> bool:
    """Email the invite; False when no email service is configured (the caller shows the
    link instead). Raises OSError when sending fails."""
    mail.send_mail(invite.email, *invite_email(invite, token))
    return bool(settings.COOP_EMAIL_URL)


def _open(invites, token: str) -> Invite | None:
    token_hash = lookup_hash(token)
    if token_hash is None:
        return None
    return (
        invites.filter(
            token_hash=token_hash,
            accepted_at=None,
            revoked_at=None,
            expires_at__gt=timezone.now(),
        )
        .select_related("role")
        .first()
    )


def open_invite(token: str) -> Invite | None:
    """The invite a link opens, if it is still open."""
    return _open(Invite.objects.all(), token)


def revoke_invite(invite_id: int) -> Invite:
    """Raises Invite.DoesNotExist for an unknown id."""
    invite = Invite.objects.get(pk=invite_id)
    if invite.accepted_at is None and invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
    return invite


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise AccountError("Enter your name.", field="name")
    if len(name) > NAME_MAX:
        raise AccountError(f"A name has at most {NAME_MAX} characters.", field="name")
    if not name.isprintable():
        raise AccountError("A name cannot contain control characters.", field="name")
    return name


def accept_invite(token: str, name: str, password: str) -> User | None:
    """Create the invited account; None when the link no longer opens an invite (nothing is
    changed). AccountError names the field at fault."""
    name = clean_name(name)
    with transaction.atomic():
        invite = _open(Invite.objects.select_for_update(), token)
        if invite is None:
            return None
        try:
            validate_password(password, User(email=invite.email, name=name))
        except ValidationError as exc:
            raise AccountError(" ".join(exc.messages), field="new_password") from exc
        if User.objects.filter(email=invite.email).exists():
            raise AccountError(
                f"{invite.email} already has an account: sign in, or use “Forgot password?”."
            )
        user = User.objects.create_user(
            email=invite.email, role=invite.role, password=password, name=name
        )
        invite.accepted_at = timezone.now()
        invite.save(update_fields=["accepted_at"])
    return user
