"""Forgot password, reset by link, and change on the Account page (accounts.md)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, logout, update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from coop.accounts import passwords, throttle
from coop.accounts.access import public_view, require_permission
from coop.accounts.services import AccountError
from coop.web.account_forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    SetPasswordForm,
    add_account_error,
)

PASSWORD_FIELDS = ("current_password", "new_password", "new_password_repeat")
RESET_HOURS = int(passwords.RESET_LIFETIME.total_seconds() // 3600)


@public_view
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def forgot_password(request: HttpRequest) -> HttpResponse:
    """The same answer, after the same work, for every email (coop.accounts.passwords)."""
    form = ForgotPasswordForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "hours": RESET_HOURS}
    if form.is_valid():
        email = form.cleaned_data["email"]
        if not passwords.request_reset(email, throttle.client_address(request)):
            context["throttled"] = True
            return render(request, "web/password_reset.html", context, status=429)
        context["sent_to"] = email
        return render(request, "web/password_reset.html", context)
    status = 400 if request.method == "POST" else 200
    return render(request, "web/password_reset.html", context, status=status)


@public_view
@sensitive_post_parameters(*PASSWORD_FIELDS)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def reset_password(request: HttpRequest, token: str) -> HttpResponse:
    """An expired, used or made-up link gets one answer, which says nothing about the account."""
    user = passwords.reset_user(token)
    if user is None:
        return _invalid(request)
    form = SetPasswordForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            done = passwords.reset_password(token, form.cleaned_data["new_password"])
        except AccountError as error:
            add_account_error(form, error)
        else:
            if done is None:  # used in another tab meanwhile
                return _invalid(request)
            logout(request)
            messages.success(request, "Your password is changed. Sign in with the new one.")
            return redirect("login")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "email": user.email}
    return render(request, "web/password_reset_confirm.html", context, status=status)


def _invalid(request: HttpRequest) -> HttpResponse:
    context = {"invalid": True, "hours": RESET_HOURS}
    return render(request, "web/password_reset_confirm.html", context, status=404)


@require_permission(methods=("GET", "HEAD", "POST"))
@sensitive_post_parameters(*PASSWORD_FIELDS)
@never_cache
def change_password(request: HttpRequest) -> HttpResponse:
    form = ChangePasswordForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        email = request.user.email
        # Checked like a sign-in: wrong guesses count towards the account's lock (django-axes),
        # so a stolen session cannot be used to try passwords at leisure.
        current = authenticate(request, email=email, password=form.cleaned_data["current_password"])
        try:
            if current is None or current.pk != request.user.pk:
                raise AccountError("That is not your current password.", field="current_password")
            throttle.record_success(email)
            passwords.change_password(
                request.user,
                form.cleaned_data["new_password"],
                keep_session_key=request.session.session_key,
            )
        except AccountError as error:
            add_account_error(form, error)
        else:
            update_session_auth_hash(request, request.user)  # this session stays signed in
            messages.success(
                request, "Your password is changed. Your other sessions are signed out."
            )
            return redirect("account")
    status = 400 if request.method == "POST" else 200
    return render(request, "web/account_password.html", {"form": form}, status=status)
