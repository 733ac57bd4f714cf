"""The organisation's settings (config.md `settings` and `ncmec`), read in one place.

OrgSettings.data holds the blocks exactly as the configuration file spells them. Every reader
goes through `org_settings()`, which fills in the defaults below; the file schema
(coop.config.schema) takes its defaults from the same `DEFAULTS`, so a file that omits a key
and the database always agree.
"""

from __future__ import annotations

import copy
from typing import Any, TypedDict

from django.db.models import Subquery

from coop.catalog.models import OrgSettings


class OrganizationSettings(TypedDict):
    name: str
    website: str | None
    onCallEmail: str | None  # where operational alerts go (failed NCMEC reports, rule alarms)


class AppealSettings(TypedDict):
    enabled: bool
    callbackUrl: str | None
    headers: dict[str, str]
    body: dict[str, Any]


class ReviewSettings(TypedDict):
    requirePolicyForDecisions: bool
    requireReasonOnAction: bool
    requireReasonOnIgnore: bool
    hideSkipForNonAdmins: bool
    ignoreCallbackUrl: str | None
    leaseSeconds: int  # how long a reviewer holds a claimed job


class StrikeSettings(TypedDict):
    ttlDays: int
    # {score, actions: [{id, parameters}]}: a strike that takes a user's total from below
    # `score` to `score` or more runs `actions`.
    thresholds: list[dict[str, Any]]


class WellnessSettings(TypedDict):
    blurLevel: int
    colorScheme: str
    muteVideo: bool


class PartialItemsSettings(TypedDict):
    endpoint: str | None
    headers: dict[str, str]


class Settings(TypedDict):
    organization: OrganizationSettings
    appeals: AppealSettings
    review: ReviewSettings
    strikes: StrikeSettings
    wellness: WellnessSettings
    partialItems: PartialItemsSettings


DEFAULTS: Settings = {
    "organization": {"name": "Coop", "website": None, "onCallEmail": None},
    # On unless turned off (review.md: "Appeals can be turned off in settings").
    "appeals": {"enabled": True, "callbackUrl": None, "headers": {}, "body": {}},
    "review": {
        "requirePolicyForDecisions": False,
        "requireReasonOnAction": False,
        "requireReasonOnIgnore": False,
        "hideSkipForNonAdmins": False,
        "ignoreCallbackUrl": None,
        "leaseSeconds": 600,
    },
    "strikes": {"ttlDays": 90, "thresholds": []},
    "wellness": {"blurLevel": 0, "colorScheme": "NONE", "muteVideo": False},
    "partialItems": {"endpoint": None, "headers": {}},
}


def stored_data_subquery() -> Subquery:
    """OrgSettings.data as a subquery, to read the settings in the same statement as other
    rows (e.g. `.annotate(org_settings=stored_data_subquery())`); NULL while nothing is
    stored."""
    return Subquery(OrgSettings.objects.filter(pk=1).values("data")[:1])


def stored_data() -> dict[str, Any]:
    """OrgSettings.data as stored (both blocks, file spelling); {} while nothing is stored."""
    data = OrgSettings.objects.filter(pk=1).values_list("data", flat=True).first()
    return data if isinstance(data, dict) else {}


def org_settings(data: dict[str, Any] | None = None) -> Settings:
    """The `settings` block with every default filled in. `data`: OrgSettings.data when the
    caller already read it (e.g. in the same query as a locked row)."""
    if data is None:
        data = stored_data()
    stored = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    merged: dict[str, Any] = {}
    for block, defaults in DEFAULTS.items():
        given = stored.get(block)
        merged[block] = {**copy.deepcopy(defaults), **(given if isinstance(given, dict) else {})}
    return merged  # type: ignore[return-value]


def review_lease_sql() -> str:
    """`settings.review.leaseSeconds` as an SQL expression, for the claim statement, which
    must read it in the same round trip (coop.review.claims). Stored values were validated
    as integers by the file schema; the default is this module's."""
    default = int(DEFAULTS["review"]["leaseSeconds"])
    table = OrgSettings._meta.db_table
    # Only a model's table name and an int are formatted in; no value comes from outside.
    return (
        f"COALESCE((SELECT (data #>> '{{settings,review,leaseSeconds}}')::int FROM {table} "  # noqa: S608
        f"WHERE id = 1), {default})"
    )


def ncmec_queue_id(data: dict[str, Any] | None = None) -> str | None:
    """The NCMEC queue (`ncmec.defaultQueue`), if one is set."""
    ncmec = (stored_data() if data is None else data).get("ncmec")
    return ncmec.get("defaultQueue") if isinstance(ncmec, dict) else None
