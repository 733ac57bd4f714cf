"""Settings → Signing key: the webhook verification key, its rotation, and verification code
that works when pasted (accounts.md, api.md: every outgoing request's `Coop-Signature`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from coop.accounts.access import require_permission
from coop.accounts.models import SigningKey
from coop.accounts.permissions import Permission
from coop.accounts.services import (
    SIGNING_KEY_GRACE,
    active_signing_key,
    public_keys,
    rotate_signing_key,
)

PUBLIC_KEY_FILENAME = "coop-webhook-public-key.pem"
GRACE_HOURS = int(SIGNING_KEY_GRACE.total_seconds() // 3600)


@dataclass(frozen=True)
class ListedKey:
    key: SigningKey
    fingerprint: str


def fingerprint(key: SigningKey) -> str:
    """SHA-256 of the key's DER encoding, to tell keys apart at a glance."""
    public_key = serialization.load_pem_public_key(key.public_pem.encode("ascii"))
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).hexdigest()
    return ":".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def snippets(keys: list[SigningKey]) -> dict[str, str]:
    """Verification code for Python and Node.js with every listed key written in, so it
    accepts webhooks signed with either key while a previous one is listed."""
    pems = [key.public_pem.strip() for key in keys]
    return {
        "python": render_to_string("web/settings/verify.py.txt", {"keys": pems}).strip() + "\n",
        "javascript": render_to_string("web/settings/verify.js.txt", {"keys": pems}).strip() + "\n",
    }


@require_permission(Permission.MANAGE_ORG)
def signing_key(request: HttpRequest) -> HttpResponse:
    keys = public_keys()
    listed = [ListedKey(key, fingerprint(key)) for key in keys]
    context = {
        "current": listed[0],
        "previous": listed[1:],
        "snippets": snippets(keys),
        "grace_hours": GRACE_HOURS,
        "public_key_filename": PUBLIC_KEY_FILENAME,
    }
    return render(request, "web/settings/signing_key.html", context)


@require_permission(Permission.MANAGE_ORG, methods=("GET", "HEAD", "POST"))
def rotate(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation; POST rotates."""
    if request.method == "POST":
        rotate_signing_key()
        messages.success(
            request,
            "The signing key was rotated: Coop signs with the new key from now on. Give your "
            f"receivers the new key; the previous one stays listed for {GRACE_HOURS} hours.",
        )
        return redirect("settings-signing-key")
    context = {"current": active_signing_key(), "grace_hours": GRACE_HOURS}
    return render(request, "web/settings/signing_key_rotate.html", context)


@require_permission(Permission.MANAGE_ORG)
def public_key_pem(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(active_signing_key().public_pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{PUBLIC_KEY_FILENAME}"'
    return response
