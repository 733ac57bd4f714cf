"""`{% sso_sign_in next %}`: the sign-in page's SSO buttons, one per enabled method."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from coop.sso.services import current

register = template.Library()


@register.inclusion_tag("sso/sign_in_options.html")
def sso_sign_in(next_url: str = "") -> dict:
    sso = current()
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    options = []
    if sso.saml_enabled:
        options.append({"label": sso.saml_label, "url": reverse("sso-saml-login") + query})
    if sso.oidc_enabled:
        options.append({"label": sso.oidc_label, "url": reverse("sso-oidc-login") + query})
    return {"options": options}
