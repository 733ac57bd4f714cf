"""Sign-in and sign-out (accounts.md). Throttling: coop.accounts.throttle, on django-axes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from coop.accounts import throttle
from coop.accounts.access import public_view
from coop.sso.services import password_sign_in_allowed
from coop.web.forms import LoginForm

# One message for every failure, so the form never tells whether an account exists.
LOGIN_FAILED = "Those details do not match an active account. Check the email and password."
# Only after the right password (Settings → SSO restricts password sign-in).
PASSWORD_SIGN_IN_OFF = "Your organisation signs in with SSO: use the button below."  # noqa: S105


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """`candidate` if it points into this console, otherwise the default landing page."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


@public_view
@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method != "POST" and request.user.is_authenticated:
        return redirect(next_url)
    form = LoginForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        email = form.cleaned_data["email"]
        address = throttle.client_address(request)
        with transaction.atomic():
            if not throttle.claim(email, address):
                return throttle.busy(request)
            wait = throttle.delay_remaining(email, address)
            if wait:
                return throttle.refusal(request, wait, locked=False)
            # `email=` (not `username=`) so axes counts failures under the address typed.
            # While the account or the address is locked, axes' backend refuses this (even
            # with the right password) and its middleware answers with the lockout page.
            user = authenticate(request, email=email, password=form.cleaned_data["password"])
            if user is not None and not password_sign_in_allowed(user):
                form.add_error(None, PASSWORD_SIGN_IN_OFF)
            elif user is not None:
                login(request, user)
                throttle.record_success(email)
                return redirect(next_url)
            else:
                form.add_error(None, LOGIN_FAILED)
    status = 400 if request.method == "POST" else 200
    return render(request, "web/login.html", {"form": form, "next": next_url}, status=status)


@public_view
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGIN_URL)
