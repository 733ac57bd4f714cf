"""The NCMEC settings the filing of CyberTip reports reads (config.md `ncmec`).

Read from `ncmec` in OrgSettings.data with the file's key names; the password is a stored
credential (coop.catalog.credentials), resolved only when a report is filed.
"""

from __future__ import annotations

from typing import Any, TypedDict

from coop.catalog.credentials import CredentialError, resolve_credential
from coop.catalog.org_settings import stored_data


class ContactPerson(TypedDict):
    firstName: str | None
    lastName: str | None
    email: str | None
    phone: str | None


class NcmecSettings(TypedDict):
    companyReportName: str | None
    legalUrl: str | None
    contactEmail: str | None
    username: str | None
    password: Any  # a stored credential ({"secret": NAME} or {"encrypted": token}) or None
    moreInfoUrl: str | None
    termsOfService: str | None
    contactPerson: ContactPerson
    defaultInternetDetailType: str | None
    additionalInfoEndpoint: str | None
    preservationEndpoint: str | None


_CONTACT_KEYS = ("firstName", "lastName", "email", "phone")
_KEYS = (
    "companyReportName",
    "legalUrl",
    "contactEmail",
    "username",
    "password",
    "moreInfoUrl",
    "termsOfService",
    "defaultInternetDetailType",
    "additionalInfoEndpoint",
    "preservationEndpoint",
)


def ncmec_settings(data: dict[str, Any] | None = None) -> NcmecSettings:
    """The `ncmec` block with every key present (None when not set)."""
    raw = (stored_data() if data is None else data).get("ncmec")
    raw = raw if isinstance(raw, dict) else {}
    contact = raw.get("contactPerson") if isinstance(raw.get("contactPerson"), dict) else {}
    block: dict[str, Any] = {key: raw.get(key) or None for key in _KEYS}
    block["contactPerson"] = {key: contact.get(key) or None for key in _CONTACT_KEYS}
    return block  # type: ignore[return-value]


def reporting_enabled(block: NcmecSettings | None = None) -> bool:
    """review.md: reporting is enabled once credentials, company name and legal URL are set."""
    block = ncmec_settings() if block is None else block
    return all(block[key] for key in ("username", "password", "companyReportName", "legalUrl"))


def cybertip_credentials(block: NcmecSettings) -> tuple[str, str]:
    """(username, password) for CyberTip's Basic auth; CredentialError says what is missing."""
    if not block["username"] or not block["password"]:
        raise CredentialError("the NCMEC username and password are not set (Settings → NCMEC)")
    return block["username"], resolve_credential(block["password"])
