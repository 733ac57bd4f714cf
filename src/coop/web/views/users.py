"""Settings → Users (MANAGE_USERS) and the invite page (accounts.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from coop.accounts import invites, passwords, users
from coop.accounts.access import public_view, require_permission
from coop.accounts.models import Invite, User
from coop.accounts.permissions import Permission
from coop.accounts.services import AccountError
from coop.web.account_forms import AcceptInviteForm, InviteForm, RoleChoiceForm, add_account_error

log = logging.getLogger(__name__)
POST = ("POST",)
NOT_CONFIGURED = "No email service is configured (COOP_EMAIL_URL): copy the link and send it."


@dataclass(frozen=True)
class ShownLink:
    """A link the page shows once, because it could not be emailed."""

    title: str
    url: str
    why: str
    validity: str


def _page(
    request: HttpRequest,
    form: InviteForm | None = None,
    *,
    shown_link: ShownLink | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form or InviteForm(),
        "rows": users.directory(),
        "roles": RoleChoiceForm().fields["role"].queryset,
        "invite_days": settings.COOP_INVITE_DAYS,
        "shown_link": shown_link,
        "email_configured": bool(settings.COOP_EMAIL_URL),
    }
    response = render(request, "web/settings/users.html", context, status=status)
    add_never_cache_headers(response)  # a shown link is in this response only
    return response


@require_permission(Permission.MANAGE_USERS)
def users_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _send_invite(request: HttpRequest, invite: Invite, token: str) -> HttpResponse:
    try:
        sent = invites.send_invite(invite, token)
    except OSError as error:
        log.warning("invite email to %s failed: %s", invite.email, error)
        why = f"The email could not be sent ({error}): copy the link and send it yourself."
    else:
        if sent:
            messages.success(
                request,
                f"Invite sent to {invite.email} as {invite.role.name}. "
                f"The link expires on {invite.expires_at:%Y-%m-%d %H:%M} UTC.",
            )
            return redirect("settings-users")
        why = NOT_CONFIGURED
    link = ShownLink(
        title=f"Invite link for {invite.email} ({invite.role.name})",
        url=invites.invite_link(token),
        why=why,
        validity=f"It works once, until {invite.expires_at:%Y-%m-%d %H:%M} UTC.",
    )
    return _page(request, shown_link=link)


@require_permission(Permission.MANAGE_USERS, methods=POST)
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            new, token = invites.create_invite(
                request.user, form.cleaned_data["email"], form.cleaned_data["role"]
            )
        except AccountError as error:
            add_account_error(form, error)
        else:
            return _send_invite(request, new, token)
    return _page(request, form, status=400)


def _open_invite(invite_id: int) -> Invite:
    return get_object_or_404(Invite, pk=invite_id, accepted_at=None, revoked_at=None)


@require_permission(Permission.MANAGE_USERS, methods=POST)
def resend_invite(request: HttpRequest, invite_id: int) -> HttpResponse:
    old = _open_invite(invite_id)
    try:
        new, token = invites.create_invite(request.user, old.email, old.role)
    except AccountError as error:
        messages.error(request, str(error))
        return redirect("settings-users")
    return _send_invite(request, new, token)


@require_permission(Permission.MANAGE_USERS, methods=POST)
def revoke_invite(request: HttpRequest, invite_id: int) -> HttpResponse:
    revoked = invites.revoke_invite(_open_invite(invite_id).pk)
    messages.success(
        request, f"The invite for {revoked.email} is revoked; its link no longer works."
    )
    return redirect("settings-users")


def _user(user_id: int) -> User:
    return get_object_or_404(User.objects.select_related("role"), pk=user_id)


def _apply(request: HttpRequest, change, success: str) -> HttpResponse:
    try:
        change()
    except AccountError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return redirect("settings-users")


@require_permission(Permission.MANAGE_USERS, methods=POST)
def change_role(request: HttpRequest, user_id: int) -> HttpResponse:
    target = _user(user_id)
    form = RoleChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Role of {target.email}: choose one of the roles.")
        return redirect("settings-users")
    role = form.cleaned_data["role"]
    return _apply(
        request,
        lambda: users.change_role(request.user, target, role),
        f"{target.email} is now {role.name}.",
    )


@require_permission(Permission.MANAGE_USERS, methods=POST)
def deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    target = _user(user_id)
    return _apply(
        request,
        lambda: users.deactivate(request.user, target),
        f"{target.email} is deactivated and signed out everywhere.",
    )


@require_permission(Permission.MANAGE_USERS, methods=POST)
def reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    target = _user(user_id)
    return _apply(
        request,
        lambda: users.reactivate(request.user, target),
        f"{target.email} can sign in again.",
    )


@require_permission(Permission.MANAGE_USERS, methods=POST)
def send_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    target = _user(user_id)
    if not target.is_active:
        messages.error(request, f"{target.email} is deactivated: reactivate them first.")
        return redirect("settings-users")
    try:
        users.ensure_can_manage(request.user, target)
        link, sent = passwords.send_reset_link(target)
    except AccountError as error:
        messages.error(request, str(error))
        return redirect("settings-users")
    except OSError as error:
        log.warning("password-reset email to %s failed: %s", target.email, error)
        messages.error(request, f"The email to {target.email} could not be sent ({error}).")
        return redirect("settings-users")
    hours = int(passwords.RESET_LIFETIME.total_seconds() // 3600)
    if sent:
        messages.success(
            request, f"A password-reset link was emailed to {target.email} (valid {hours} hour)."
        )
        return redirect("settings-users")
    shown = ShownLink(
        title=f"Password-reset link for {target.email}",
        url=link,
        why=NOT_CONFIGURED,
        validity=f"It works once, for {hours} hour.",
    )
    return _page(request, shown_link=shown)


@public_view
@sensitive_post_parameters("new_password", "new_password_repeat")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def accept_invite(request: HttpRequest, token: str) -> HttpResponse:
    """Anyone with the link; an expired, used, revoked or made-up link gets one answer."""
    invite = invites.open_invite(token)
    if invite is None:
        return _invalid_link(request)
    form = AcceptInviteForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            user = invites.accept_invite(
                token, form.cleaned_data["name"], form.cleaned_data["new_password"]
            )
        except AccountError as error:
            add_account_error(form, error)
        else:
            if user is None:  # used or revoked while the form was open
                return _invalid_link(request)
            logout(request)  # whoever was signed in here, the link's holder is the new user
            messages.success(request, "Your account is ready. Sign in with your new password.")
            return redirect("login")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/accept_invite.html", {"form": form, "invite": invite}, status=status
    )


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "web/accept_invite.html", {"invalid": True}, status=404)
