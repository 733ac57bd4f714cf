"""The organisation's NCMEC settings (config.md `ncmec`), read in one place.

OrgSettings.data["ncmec"] holds the block exactly as the configuration file spells it. Every
reader (the NCMEC job view, the settings page, the CyberTip submission pipeline) goes through
`ncmec_settings()`, which fills in `DEFAULTS`; the file schema (coop.config.schema) takes its
defaults from the same table, so a file that omits a key and the database always agree.

`password` stays the stored credential (`{"secret": NAME}` or `{"encrypted": token}`, see
coop.catalog.credentials): resolve it with `resolve_credential` only where it is sent.
"""

from __future__ import annotations

import copy
from typing import Any, NotRequired, TypedDict

from coop.catalog.credentials import CredentialError, resolve_credential
from coop.catalog.org_settings import stored_data
from coop.core.enums import MediaReviewMode

TEXT_LIMIT = 3000  # termsOfService, and the reviewer's escalation reason and additional info


class ContactPerson(TypedDict):
    """The law-enforcement contact person of the report (all optional)."""

    firstName: str | None
    lastName: str | None
    email: str | None
    phone: str | None


class MediaReview(TypedDict):
    mode: str  # MediaReviewMode
    count: NotRequired[int]  # with MINIMUM: how many media must be classified


class NcmecSettings(TypedDict):
    companyReportName: str | None
    legalUrl: str | None
    contactEmail: str | None
    defaultQueue: str | None
    username: str | None
    password: dict[str, str] | None  # the stored credential, never the clear value
    moreInfoUrl: str | None
    termsOfService: str | None
    contactPerson: ContactPerson
    defaultInternetDetailType: str | None  # InternetDetailType
    mediaReview: MediaReview
    additionalInfoEndpoint: str | None
    preservationEndpoint: str | None


DEFAULTS: NcmecSettings = {
    "companyReportName": None,
    "legalUrl": None,
    "contactEmail": None,
    "defaultQueue": None,
    "username": None,
    "password": None,
    "moreInfoUrl": None,
    "termsOfService": None,
    "contactPerson": {"firstName": None, "lastName": None, "email": None, "phone": None},
    "defaultInternetDetailType": None,
    "mediaReview": {"mode": MediaReviewMode.ALL},
    "additionalInfoEndpoint": None,
    "preservationEndpoint": None,
}

# What reporting needs (review.md: credentials, company name and legal URL), in words.
REQUIRED_FOR_REPORTING = {
    "username": "the CyberTip username",
    "password": "the CyberTip password",
    "companyReportName": "the company report name",
    "legalUrl": "the legal URL",
}


def ncmec_settings(data: dict[str, Any] | None = None) -> NcmecSettings:
    """The `ncmec` block with every default filled in. `data`: OrgSettings.data when the
    caller already read it."""
    if data is None:
        data = stored_data()
    stored = data.get("ncmec") if isinstance(data.get("ncmec"), dict) else {}
    merged: dict[str, Any] = copy.deepcopy(dict(DEFAULTS))
    for key, value in stored.items():
        if key not in merged:
            continue
        if key == "contactPerson" and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged  # type: ignore[return-value]


def missing_for_reporting(settings: NcmecSettings | None = None) -> list[str]:
    """What is missing before reports can be filed, in words (empty: reporting is enabled).
    A password whose environment variable is unset, or that was encrypted with another
    COOP_SECRET_KEY, counts as missing, with the reason."""
    settings = settings if settings is not None else ncmec_settings()
    missing = [text for key, text in REQUIRED_FOR_REPORTING.items() if not settings[key]]
    if settings["password"]:
        try:
            resolve_credential(settings["password"])
        except CredentialError as exc:
            missing.append(f"{REQUIRED_FOR_REPORTING['password']} ({exc})")
    return missing


def reporting_enabled(settings: NcmecSettings | None = None) -> bool:
    """True only when the username, the password, the company report name and the legal URL
    are set (review.md)."""
    return not missing_for_reporting(settings)


def media_to_review(settings: NcmecSettings, media_count: int) -> int:
    """How many of a job's `media_count` media the reviewer must classify (or mark not
    relevant) before submitting: all of them, or the configured minimum (at most all)."""
    review = settings["mediaReview"]
    if review["mode"] == MediaReviewMode.MINIMUM:
        return min(int(review.get("count", 1)), media_count)
    return media_count


def cybertip_credentials(settings: NcmecSettings) -> tuple[str, str]:
    """(username, password) for CyberTip's Basic auth; CredentialError says what is missing."""
    if not settings["username"] or not settings["password"]:
        raise CredentialError("the NCMEC username and password are not set (Settings → NCMEC)")
    return settings["username"], resolve_credential(settings["password"])
