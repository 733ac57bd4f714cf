"""Settings → SSO, and the SAML and OpenID Connect sign-in endpoints.

Every refused sign-in is logged with its reason (logger `coop.sso`) and counted as a failed
sign-in from the client's address, as password failures are (coop.accounts.throttle): an
address that is slowed down or locked is refused here too. The browser only learns that the
sign-in failed.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from coop.accounts import throttle
from coop.accounts.access import public_view, require_permission
from coop.accounts.permissions import Permission
from coop.sso import oidc, saml, services
from coop.sso.errors import SsoRefused
from coop.sso.forms import OidcForm, SamlForm, SignInForm
from coop.sso.services import Identity, SignInDenied

logger = logging.getLogger("coop.sso")

# Session keys: which method signed this session in; the SAML browser binding; OIDC flows.
SIGNED_IN_WITH = "coop_sso_method"
SAML_BROWSER = "coop_sso_saml_browser"
OIDC_FLOWS = "coop_sso_oidc_flows"
# The session backend for SSO sign-ins: the same as for passwords, so `is_active` is checked on
# every request and deactivating a user ends their SSO sessions too.
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"
SECTIONS = ("saml", "oidc", "sign_in")


# --- Settings → SSO ------------------------------------------------------------------------


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def settings_page(request: HttpRequest) -> HttpResponse:
    sso = services.current()
    section = request.POST.get("section") if request.method == "POST" else None
    signed_in_with_sso = bool(request.session.get(SIGNED_IN_WITH))
    data, files = (request.POST, request.FILES) if section else (None, None)
    forms = {
        "saml": SamlForm(
            data if section == "saml" else None,
            files if section == "saml" else None,
            initial=SamlForm.initial_for(sso),
            prefix="saml",
        ),
        "oidc": OidcForm(
            data if section == "oidc" else None,
            initial=OidcForm.initial_for(sso),
            prefix="oidc",
            sso=sso,
        ),
        "sign_in": SignInForm(
            data if section == "sign_in" else None,
            initial=SignInForm.initial_for(sso),
            prefix="sign_in",
            sso=sso,
            signed_in_with_sso=signed_in_with_sso,
        ),
    }
    if section in SECTIONS and forms[section].is_valid():
        _save(section, forms[section].cleaned_data, request.user)
        messages.success(request, "The SSO settings are saved.")
        return redirect("settings-sso")
    context = {
        "forms": forms,
        "sso": sso,
        "sp": saml.service_provider(),
        **_idp_summary(sso.saml_metadata),
        "xmlsec_problem": saml.xmlsec_problem(),
        "redirect_uri": oidc.redirect_uri(),
        "signed_in_with_sso": signed_in_with_sso,
    }
    status = 400 if section else 200
    return render(request, "sso/settings.html", context, status=status)


def _save(section: str, data: dict, user) -> None:
    if section == "saml":
        services.save_saml(
            user,
            enabled=data["enabled"],
            metadata=data["metadata"],
            email_attribute=data["email_attribute"],
            label=data["label"],
        )
    elif section == "oidc":
        services.save_oidc(
            user,
            enabled=data["enabled"],
            issuer=data["issuer"],
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            email_claim=data["email_claim"],
            scopes=data["scopes"],
            label=data["label"],
        )
    else:
        services.save_sign_in(
            user,
            password_sign_in=data["password_sign_in"],
            jit_enabled=data["jit_enabled"],
            jit_role=data["jit_role"],
            jit_domains=data["jit_domains"],
        )


def _idp_summary(metadata: str) -> dict:
    """The stored IdP for the page, or why it no longer works (metadata that expired)."""
    if not metadata:
        return {"idp": None, "idp_problem": None}
    try:
        return {"idp": saml.read_idp_metadata(metadata), "idp_problem": None}
    except saml.MetadataError as exc:
        return {"idp": None, "idp_problem": str(exc)}


# --- Shared by both protocols --------------------------------------------------------------


def _next(request: HttpRequest) -> str:
    candidate = request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _throttled(request: HttpRequest) -> HttpResponse | None:
    """The 429 page while the client's address is locked or slowed down, else None. ("" names
    no account: SSO failures are counted against the address only.)"""
    address = throttle.client_address(request)
    locked = throttle.lock_remaining("", address)
    if locked:
        return throttle.refusal(request, locked, locked=True)
    wait = throttle.delay_remaining("", address)
    return throttle.refusal(request, wait, locked=False) if wait else None


def _refused(request: HttpRequest, method: str, exc: Exception) -> HttpResponse:
    logger.warning(
        "SSO sign-in refused (%s) from %s: %s", method, throttle.client_address(request), exc
    )
    # axes records it against the address (no account: credentials name none).
    user_login_failed.send(sender=__name__, credentials={"email": None}, request=request)
    return render(request, "sso/refused.html", {"retry": _start_url(method)}, status=400)


def _unavailable(request: HttpRequest, method: str) -> HttpResponse:
    return render(request, "sso/refused.html", {"unavailable": True, "method": method}, status=404)


def _start_url(method: str) -> str:
    return reverse("sso-saml-login" if method == "saml" else "sso-oidc-login")


def _sign_in(request: HttpRequest, identity: Identity, next_url: str) -> HttpResponse:
    try:
        user = services.user_for(identity, services.current())
    except SignInDenied as denied:
        logger.warning(
            "SSO sign-in denied (%s) for %s: %s", identity.method, identity.email, denied.reason
        )
        return render(request, "sso/denied.html", {"message": str(denied)}, status=403)
    login(request, user, backend=SESSION_BACKEND)
    request.session[SIGNED_IN_WITH] = identity.method
    logger.info("SSO sign-in (%s) of %s", identity.method, user.email)
    return redirect(next_url)


# --- SAML ----------------------------------------------------------------------------------


@public_view
@never_cache
@require_GET
def saml_login(request: HttpRequest) -> HttpResponse:
    sso = services.current()
    if not sso.saml_enabled:
        return _unavailable(request, "SAML")
    browser = request.session.get(SAML_BROWSER) or secrets.token_urlsafe(32)
    request.session[SAML_BROWSER] = browser
    try:
        location = saml.start(sso, _next(request), browser)
    except SsoRefused as exc:
        logger.warning("SAML sign-in could not start: %s", exc)
        return render(request, "sso/refused.html", {"retry": None}, status=503)
    return redirect(location)


# The IdP posts the response from its own site (the SAML HTTP-POST binding): the browser sends
# no Coop CSRF token (nor the SameSite=Lax session cookie). What stands in for CSRF protection
# is the protocol's own: the response must be signed by the IdP, answer a request Coop made
# (InResponseTo), and is then completed only in the browser session that made that request.
@public_view
@csrf_exempt
@never_cache
@require_POST
def saml_acs(request: HttpRequest) -> HttpResponse:
    sso = services.current()
    if not sso.saml_enabled:
        return _unavailable(request, "SAML")
    if refusal := _throttled(request):
        return refusal
    try:
        token = saml.consume(sso, request.POST.get("SAMLResponse", ""))
    except SsoRefused as exc:
        return _refused(request, "saml", exc)
    return redirect(f"{reverse('sso-saml-complete')}?token={token}", permanent=False)


@public_view
@never_cache
@require_GET
def saml_complete(request: HttpRequest) -> HttpResponse:
    if refusal := _throttled(request):
        return refusal
    try:
        row = saml.complete(request.GET.get("token", ""), request.session.get(SAML_BROWSER))
    except SsoRefused as exc:
        return _refused(request, "saml", exc)
    return _sign_in(request, Identity(row.email, row.name, "saml"), row.next_url)


@public_view
@require_GET
def saml_metadata(request: HttpRequest) -> HttpResponse:
    try:
        xml = saml.sp_metadata_xml(services.current())
    except SsoRefused as exc:
        return HttpResponse(f"{exc}\n", status=503, content_type="text/plain")
    return HttpResponse(xml, content_type="application/samlmetadata+xml")


# --- OpenID Connect ------------------------------------------------------------------------


@public_view
@never_cache
@require_GET
def oidc_login(request: HttpRequest) -> HttpResponse:
    sso = services.current()
    if not sso.oidc_enabled:
        return _unavailable(request, "OpenID Connect")
    try:
        url, flow = oidc.start(sso)
    except SsoRefused as exc:
        logger.warning("OpenID Connect sign-in could not start: %s", exc)
        return render(request, "sso/refused.html", {"retry": None}, status=503)
    flow["next"] = _next(request)
    request.session[OIDC_FLOWS] = oidc.remember(request.session.get(OIDC_FLOWS), flow)
    return redirect(url)


@public_view
@never_cache
@require_GET
def oidc_callback(request: HttpRequest) -> HttpResponse:
    sso = services.current()
    if not sso.oidc_enabled:
        return _unavailable(request, "OpenID Connect")
    if refusal := _throttled(request):
        return refusal
    flows = request.session.get(OIDC_FLOWS)
    try:
        flow = oidc.take_flow(flows, request.GET.get("state", ""))
        request.session[OIDC_FLOWS] = flows  # the flow is used up, whatever happens next
        if "error" in request.GET:
            raise SsoRefused(
                f"the provider answered {request.GET['error'][:100]!r}: "
                f"{request.GET.get('error_description', '')[:300]}"
            )
        claims = oidc.finish(sso, flow, request.GET.get("code", ""))
    except SsoRefused as exc:
        return _refused(request, "oidc", exc)
    return _sign_in(request, Identity(claims.email, claims.name, "oidc"), flow["next"])
