"""Shapes and defaults of every object of the configuration file.

Each kind's field table is the single definition of its canonical form: `normalize` fills in the
defaults (so a file that omits a key and the database agree), `compact` drops them again for
export, and shape errors come back with their path. The tables are also the kinds' field maps
(config/kinds.py) and their enums are coop.core.enums, shared with the models.

Why this, and not pydantic as the API (coop.api.schemas) uses: the two validate different
things. The API checks one request, and pydantic's errors map onto its JSON-pointer error
format. The file is a whole configuration whose errors are reported together, in the file's
own spelling, with paths that go on across objects once the shapes are known
(`rules[0].condition.any[1].banks[0]: unknown bank 'x'`, `policies[0].children[0].id:
duplicate id`), through nested children, `!secret` references and conditions that are only
checked against the rest of the file (validate.py). The same table also drives what pydantic
has no counterpart for: filling defaults in so stored and declared objects compare equal, and
dropping them again (`compact`) so an export reads like a hand-written file. Rewritten in
pydantic, every message tests/config/test_config_errors.py pins would have to be re-created
through custom validators and error translation, and compaction would still be hand-written;
so there are two, each for the job it fits, and neither validates the other's input.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from coop.catalog.builtins import RESERVED_PREFIX
from coop.catalog.credentials import credential_problem
from coop.catalog.org_settings import DEFAULTS as SETTINGS_DEFAULTS
from coop.childsafety.settings import DEFAULTS as NCMEC_DEFAULTS
from coop.childsafety.settings import TEXT_LIMIT as NCMEC_TEXT_LIMIT
from coop.core.enums import (
    BankKind,
    ClearDisposition,
    ClearScope,
    ColorScheme,
    InternetDetailType,
    ItemKind,
    MediaReviewMode,
    ParameterType,
    Penalty,
    QueueOrder,
    RuleStatus,
)
from coop.core.field_types import ROLE_CONSTRAINTS, SCALAR_TYPES, FieldRole, FieldType
from coop.core.media import is_http_url
from coop.integrations import config as integrations
from coop.outbound import header_problem
from coop.signals.hashing import InvalidHash, parse_hash
from coop.signals.values import (
    DEFAULT_HASH_THRESHOLD,
    HASH_FORMATS,
    hash_error,
    location_error,
)
from coop.signals.values import regex_error as _regex_error

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True)
class ConfigError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


Errors = list[ConfigError]
Check = Callable[[Any, str, Errors], Any]


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED = _Marker("REQUIRED")
OPTIONAL = _Marker("OPTIONAL")  # no default: absent stays absent
Spec = dict[str, tuple[Check, Any]]


def obj(raw: Any, path: str, errors: Errors, spec: Spec) -> dict[str, Any] | None:
    """Check a mapping against `spec` ({key: (check, default)}) and fill in the defaults."""
    if not isinstance(raw, dict):
        errors.append(ConfigError(path, "must be a mapping"))
        return None
    for key in raw:
        if key not in spec:
            errors.append(ConfigError(_join(path, str(key)), "unknown key"))
    out: dict[str, Any] = {}
    for key, (check, default) in spec.items():
        if key in raw:
            out[key] = check(raw[key], _join(path, key), errors)
        elif default is REQUIRED:
            errors.append(ConfigError(_join(path, key), "is required"))
        elif default is not OPTIONAL:
            out[key] = copy.deepcopy(default)
    return out


def compact(data: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """Drop keys equal to their default, for a readable export."""
    return {
        key: value
        for key, value in data.items()
        if key not in spec or spec[key][1] in (REQUIRED, OPTIONAL) or value != spec[key][1]
    }


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def nested(spec: Spec) -> Check:
    return lambda raw, path, errors: obj(raw, path, errors, spec)


def nullable(check: Check) -> Check:
    return lambda raw, path, errors: None if raw is None else check(raw, path, errors)


def string(raw: Any, path: str, errors: Errors) -> str | None:
    if not isinstance(raw, str):
        errors.append(ConfigError(path, "must be a string"))
        return None
    return raw


def name(raw: Any, path: str, errors: Errors) -> str | None:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 200:
        errors.append(ConfigError(path, "must be a non-empty string of at most 200 characters"))
        return None
    return raw


def boolean(raw: Any, path: str, errors: Errors) -> bool | None:
    if not isinstance(raw, bool):
        errors.append(ConfigError(path, "must be true or false"))
        return None
    return raw


def integer(minimum: int | None = None, maximum: int | None = None) -> Check:
    def check(raw: Any, path: str, errors: Errors) -> int | None:
        if not isinstance(raw, int) or isinstance(raw, bool):
            errors.append(ConfigError(path, "must be an integer"))
            return None
        if (minimum is not None and raw < minimum) or (maximum is not None and raw > maximum):
            bounds = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            errors.append(ConfigError(path, f"must be {bounds}"))
            return None
        return raw

    return check


def number(raw: Any, path: str, errors: Errors) -> float | int | None:
    if not isinstance(raw, int | float) or isinstance(raw, bool) or not math.isfinite(raw):
        errors.append(ConfigError(path, "must be a number"))
        return None
    return raw


def enum(*choices: str) -> Check:
    def check(raw: Any, path: str, errors: Errors) -> str | None:
        if raw not in choices:
            errors.append(ConfigError(path, f"must be one of {', '.join(choices)}"))
            return None
        return raw

    return check


def url(raw: Any, path: str, errors: Errors) -> str | None:
    if not is_http_url(raw):
        errors.append(ConfigError(path, "must be an http(s) URL"))
        return None
    return raw


def json_mapping(raw: Any, path: str, errors: Errors) -> dict | None:
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        errors.append(ConfigError(path, "must be a mapping with string keys"))
        return None
    return raw


def headers(raw: Any, path: str, errors: Errors) -> dict | None:
    """Header values are strings or stored credentials (`!secret NAME`, or a value typed in
    the console and encrypted); names, values and secret variables follow coop.outbound's
    rules, the ones checked again when a request is sent."""
    if json_mapping(raw, path, errors) is None:
        return None
    for key, value in raw.items():
        problem = _header_error(str(key), value)
        if problem:
            errors.append(ConfigError(f"{path}.{key}", problem))
    return raw


def _header_error(name: str, value: Any) -> str | None:
    problem = header_problem(name)
    if problem:
        return f"header name {problem}"
    if isinstance(value, dict):
        return credential_problem(value)
    if not isinstance(value, str):
        return "must be a string or !secret NAME"
    problem = header_problem(name, value)
    return f"header {problem}" if problem else None


def iso_datetime(raw: Any, path: str, errors: Errors) -> str | None:
    """Canonical form: UTC, ISO 8601 with a Z (naive values are taken as UTC)."""
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None:
        errors.append(ConfigError(path, "must be an ISO 8601 date and time"))
        return None
    return format_datetime(moment)


def format_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Words of the console's addresses next to object ids (/rules/new, /rules/validate): an
# object with one of these ids could not be opened there.
CONSOLE_WORDS = frozenset({"new", "validate", "spot-test"})


def object_id(raw: Any, path: str, errors: Errors) -> str | None:
    """An id the file declares: reserved `coop.` ids and the console's words cannot be."""
    if ref(raw, path, errors) is None:
        return None
    if raw.startswith(RESERVED_PREFIX):
        errors.append(ConfigError(path, f"ids starting with {RESERVED_PREFIX!r} are reserved"))
        return None
    if raw in CONSOLE_WORDS:
        errors.append(
            ConfigError(path, f"{raw!r} is reserved: the console's address /<kind>/{raw} uses it")
        )
        return None
    return raw


def ref(raw: Any, path: str, errors: Errors) -> str | None:
    if not isinstance(raw, str) or not ID_PATTERN.fullmatch(raw):
        errors.append(
            ConfigError(
                path,
                "must be an id: 1-64 letters, digits, '_', '-' or '.', "
                "starting with a letter or digit",
            )
        )
        return None
    return raw


def list_of(check: Check, *, unique: bool = False) -> Check:
    def check_list(raw: Any, path: str, errors: Errors) -> list | None:
        if not isinstance(raw, list):
            errors.append(ConfigError(path, "must be a list"))
            return None
        out = []
        for i, item in enumerate(raw):
            value = check(item, f"{path}[{i}]", errors)
            if unique and value is not None and value in out:
                errors.append(ConfigError(f"{path}[{i}]", f"duplicate {value!r}"))
            out.append(value)
        return out

    return check_list


def set_of(check: Check) -> Check:
    """A list whose order means nothing (reviewers): canonically sorted, so the order a file
    lists them in is never a change."""
    check_list = list_of(check, unique=True)

    def check_set(raw: Any, path: str, errors: Errors) -> list | None:
        values = check_list(raw, path, errors)
        if values is None or None in values:
            return values
        return sorted(values)

    return check_set


def action_ref(raw: Any, path: str, errors: Errors) -> dict | None:
    """`id` or `{id, parameters}`; canonical form is always the mapping."""
    if isinstance(raw, str):
        raw = {"id": raw}
    return obj(raw, path, errors, {"id": (ref, REQUIRED), "parameters": (json_mapping, {})})


_LEAF_ORDER = ("input", "signal", "subcategory", "values", "banks", "comparator", "threshold")
_LOCATION_ORDER = ("name", "geohash", "lat", "lng", "radiusMiles", "bounds")


def ordered_condition(node: Any) -> Any:
    """Keys in the documented order (the database returns JSON keys in its own order)."""
    if isinstance(node, dict):
        order = {key: i for i, key in enumerate(_LEAF_ORDER)}
        keys = sorted(node, key=lambda k: order.get(k, len(order)))
        return {key: ordered_condition(node[key]) for key in keys}
    if isinstance(node, list):
        return [ordered_condition(child) for child in node]
    return node


def ordered_location(location: dict) -> dict:
    order = {key: i for i, key in enumerate(_LOCATION_ORDER)}
    return {key: location[key] for key in sorted(location, key=lambda k: order.get(k, len(order)))}


def compact_action_refs(refs: list[dict]) -> list[Any]:
    return [r if r["parameters"] else r["id"] for r in refs]


ID = (object_id, REQUIRED)
NAME = (name, REQUIRED)
DESCRIPTION = (string, "")
SCALAR_NAMES = tuple(sorted(SCALAR_TYPES))

FIELD: Spec = {
    "name": (name, REQUIRED),
    "type": (enum(*FieldType), REQUIRED),
    "required": (boolean, False),
    "items": (enum(*SCALAR_NAMES), OPTIONAL),
    "values": (enum(*SCALAR_NAMES), OPTIONAL),
}
ITEM_TYPE: Spec = {
    "id": ID,
    "name": NAME,
    "description": DESCRIPTION,
    "kind": (enum(*ItemKind), REQUIRED),
    "fields": (list_of(nested(FIELD)), []),
    "roles": (json_mapping, {}),
    "hiddenFields": (list_of(name, unique=True), []),
}
POLICY: Spec = {
    "id": ID,
    "name": NAME,
    "parent": (nullable(ref), None),
    "penalty": (enum(*Penalty), Penalty.NONE),
    "strikes": (nullable(integer(0)), None),
    "text": (string, ""),
    "guidelines": (string, ""),
}


def _any(raw: Any, path: str, errors: Errors) -> Any:
    return raw


PARAMETER: Spec = {
    "name": (name, REQUIRED),
    "type": (enum(*ParameterType), REQUIRED),
    "required": (boolean, False),
    "default": (_any, OPTIONAL),  # checked against `type` by `action`
}
ACTION: Spec = {
    "id": ID,
    "name": NAME,
    "description": DESCRIPTION,
    "callbackUrl": (url, REQUIRED),
    "headers": (headers, {}),
    "body": (json_mapping, {}),
    "itemTypes": (list_of(ref, unique=True), []),
    "appliesStrikes": (boolean, False),
    "parameters": (list_of(nested(PARAMETER)), []),
}
BANK_COMMON: Spec = {
    "id": ID,
    "name": NAME,
    "description": DESCRIPTION,
    "kind": (enum(*BankKind), REQUIRED),
}


# PostgreSQL stores no NUL character in text or JSON.
_NUL = "must not contain a NUL character"


def _non_empty_string(raw: Any, path: str, errors: Errors) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        errors.append(ConfigError(path, "must be a non-empty string"))
        return None
    if "\x00" in raw:
        errors.append(ConfigError(path, _NUL))
        return None
    return raw


def _pattern(raw: Any, path: str, errors: Errors) -> str | None:
    message = _NUL if isinstance(raw, str) and "\x00" in raw else _regex_error(raw)
    if message:
        errors.append(ConfigError(path, message))
        return None
    return raw


def _location(raw: Any, path: str, errors: Errors) -> dict | None:
    named = isinstance(raw, dict) and isinstance(raw.get("name"), str)
    message = _NUL if named and "\x00" in raw["name"] else location_error(raw)
    if message:
        errors.append(ConfigError(path, message))
        return None
    return raw


def _exchange_api(raw: Any, path: str, errors: Errors) -> str | None:
    if not isinstance(raw, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", raw):
        errors.append(
            ConfigError(
                path,
                "must be the name of an HMA exchange API, as HMA lists them "
                "(e.g. ncmec, stop_ncii, fb_threatexchange)",
            )
        )
        return None
    return raw


def _credentials(raw: Any, path: str, errors: Errors) -> dict | None:
    if json_mapping(raw, path, errors) is None:
        return None
    for key, value in raw.items():
        problem = credential_problem(value)
        if problem:
            errors.append(ConfigError(f"{path}.{key}", problem))
    return raw


# An HMA exchange filling a HASH bank: `config` and `credentials` hold the fields HMA's
# `/c/exchanges/api/<api>/schema` lists; credentials are `!secret NAME` or console values.
HMA_EXCHANGE: Spec = {
    "api": (_exchange_api, REQUIRED),
    "config": (json_mapping, {}),
    "credentials": (_credentials, {}),
}

BANK_BY_KIND: dict[str, Spec] = {
    BankKind.TEXT: {**BANK_COMMON, "values": (list_of(_non_empty_string), [])},
    BankKind.REGEX: {**BANK_COMMON, "values": (list_of(_pattern), [])},
    BankKind.LOCATION: {**BANK_COMMON, "locations": (list_of(_location), [])},
    BankKind.HASH: {
        **BANK_COMMON,
        "signalType": (enum(*HASH_FORMATS), "pdq"),
        "distance": (integer(0, 256), DEFAULT_HASH_THRESHOLD),
        "enabled": (boolean, True),
        # Absent = keep the bank's current hashes (added in the console or synced from HMA).
        "hashes": (list_of(string), OPTIONAL),
        "exchange": (nullable(nested(HMA_EXCHANGE)), None),
    },
}


def bank(raw: Any, path: str, errors: Errors) -> dict | None:
    kind = raw.get("kind") if isinstance(raw, dict) else None
    if kind == BankKind.HASH and "threshold" in raw and "distance" not in raw:
        # The key's first spelling in this project; config.md calls it `distance`.
        raw = {("distance" if key == "threshold" else key): value for key, value in raw.items()}
    data = obj(raw, path, errors, BANK_BY_KIND.get(kind, BANK_COMMON))
    if data and kind == BankKind.HASH and data.get("signalType") and data.get("hashes"):
        hashes = []
        for i, value in enumerate(data["hashes"]):
            if value is None:
                continue
            if data["signalType"] == "pdq":
                try:
                    hashes.append(parse_hash(value))
                except InvalidHash as exc:
                    errors.append(ConfigError(f"{path}.hashes[{i}]", str(exc)))
                continue
            message = value is not None and hash_error(data["signalType"], value)
            if message:
                errors.append(ConfigError(f"{path}.hashes[{i}]", message))
            hashes.append(value)
        data["hashes"] = list(dict.fromkeys(hashes))  # a hash listed twice is one hash
    return data


def condition(raw: Any, path: str, errors: Errors) -> Any:
    """Conditions are checked against the whole configuration later (rules/conditions.py)."""
    return raw


def _email(raw: Any, path: str, errors: Errors) -> str | None:
    if not isinstance(raw, str) or "@" not in raw:
        errors.append(ConfigError(path, "must be an email address"))
        return None
    return raw.strip().lower()


RULE: Spec = {
    "id": ID,
    "name": NAME,
    "description": DESCRIPTION,
    "status": (enum(*RuleStatus), RuleStatus.DRAFT),
    "itemTypes": (list_of(ref, unique=True), REQUIRED),
    "policies": (list_of(ref, unique=True), []),
    "actions": (list_of(action_ref), []),
    "tags": (list_of(_non_empty_string, unique=True), []),
    "expiresAt": (nullable(iso_datetime), None),
    "maxDailyActions": (nullable(integer(1)), None),
    "condition": (condition, REQUIRED),
    # The user responsible for the rule (its alarms are emailed to them). Absent = keep the
    # rule's current owner, so files written without owners do not clear them.
    "owner": (nullable(_email), OPTIONAL),
}


CLEAR_OTHER_REPORTS: Spec = {
    # ClearDisposition.NONE ("") is written as `clearOtherReports: null`.
    "disposition": (enum(*(d for d in ClearDisposition if d)), REQUIRED),
    "scope": (enum(*ClearScope), ClearScope.THIS_QUEUE),
    "triggerActions": (list_of(ref, unique=True), []),
}
QUEUE: Spec = {
    "id": ID,
    "name": NAME,
    "description": DESCRIPTION,
    "default": (boolean, False),
    "appeals": (boolean, False),
    "order": (enum(*QueueOrder), QueueOrder.FIFO),
    "hiddenActions": (list_of(ref, unique=True), []),
    "reviewers": (set_of(_email), []),
    "autoCloseDeleted": (boolean, False),
    # null: off. Absent = keep the queue's current setting (a console save does not send it).
    "clearOtherReports": (nullable(nested(CLEAR_OTHER_REPORTS)), OPTIONAL),
}
ROUTING_RULE: Spec = {
    "id": ID,
    "name": NAME,
    "description": DESCRIPTION,
    "itemTypes": (list_of(ref, unique=True), REQUIRED),
    "queue": (ref, REQUIRED),
    "condition": (condition, REQUIRED),
}
THRESHOLD: Spec = {"score": (integer(1), REQUIRED), "actions": (list_of(action_ref), REQUIRED)}


def settings_block(checks: dict[str, Check], defaults: dict[str, Any]) -> tuple[Check, Any]:
    """A block of `settings`: its keys' checks, with the defaults of coop.catalog.org_settings
    (the one place they are written) for each key and for the block as a whole."""
    assert checks.keys() == defaults.keys(), "every settings key needs a check and a default"
    return nested({key: (check, defaults[key]) for key, check in checks.items()}), defaults


SETTINGS: Spec = {
    "organization": settings_block(
        {"name": name, "website": nullable(url), "onCallEmail": nullable(_email)},
        SETTINGS_DEFAULTS["organization"],
    ),
    "appeals": settings_block(
        {
            "enabled": boolean,
            "callbackUrl": nullable(url),
            "headers": headers,
            "body": json_mapping,
        },
        SETTINGS_DEFAULTS["appeals"],
    ),
    "review": settings_block(
        {
            "requirePolicyForDecisions": boolean,
            "requireReasonOnAction": boolean,
            "requireReasonOnIgnore": boolean,
            "hideSkipForNonAdmins": boolean,
            "ignoreCallbackUrl": nullable(url),
            "leaseSeconds": integer(60, 86400),
        },
        SETTINGS_DEFAULTS["review"],
    ),
    "strikes": settings_block(
        {"ttlDays": integer(1, 3650), "thresholds": list_of(nested(THRESHOLD))},
        SETTINGS_DEFAULTS["strikes"],
    ),
    "wellness": settings_block(
        {
            "blurLevel": integer(0, 6),
            "colorScheme": enum(*ColorScheme),
            "muteVideo": boolean,
        },
        SETTINGS_DEFAULTS["wellness"],
    ),
    "partialItems": settings_block(
        {"endpoint": nullable(url), "headers": headers}, SETTINGS_DEFAULTS["partialItems"]
    ),
}


def credential(raw: Any, path: str, errors: Errors) -> dict | None:
    """`!secret SECRET_NAME` or a value set in the console (stored encrypted)."""
    problem = credential_problem(raw)
    if problem:
        errors.append(ConfigError(path, problem))
        return None
    return raw


def unique_ids(check: Check) -> Check:
    """A list of objects with ids, no id twice."""

    def check_list(raw: Any, path: str, errors: Errors) -> list | None:
        values = list_of(check)(raw, path, errors)
        seen: dict[str, int] = {}
        for i, value in enumerate(values or []):
            if value and value.get("id") is not None:
                if value["id"] in seen:
                    errors.append(
                        ConfigError(
                            f"{path}[{i}].id",
                            f"duplicate id {value['id']!r} (also {path}[{seen[value['id']]}])",
                        )
                    )
                seen.setdefault(value["id"], i)
        return values

    return check_list


def _limits(integration: str) -> Spec:
    """Timeout, concurrency and cache time of one integration, with their defaults."""
    checks = {
        "timeoutMs": integer(*integrations.TIMEOUT_RANGE_MS),
        "concurrency": integer(*integrations.CONCURRENCY_RANGE),
        "cacheTtlSeconds": integer(*integrations.CACHE_TTL_RANGE),
    }
    defaults = integrations.limit_defaults(integration)
    return {key: (check, defaults[key]) for key, check in checks.items()}


def _provider(integration: str, **extra: tuple[Check, Any]) -> Spec:
    return {
        "apiKey": (credential, REQUIRED),
        "baseUrl": (nullable(url), None),
        **_limits(integration),
        **extra,
    }


LABELER_VERSION: Spec = {"id": (ref, REQUIRED), "name": NAME}
INTEGRATION_PROVIDERS: dict[str, Spec] = {
    integrations.OPENAI: _provider(integrations.OPENAI),
    integrations.GOOGLE: _provider(integrations.GOOGLE),
    integrations.ZENTROPI: _provider(
        integrations.ZENTROPI, labelerVersions=(unique_ids(nested(LABELER_VERSION)), [])
    ),
}
HTTP_SIGNAL: Spec = {
    "id": ID,
    "name": NAME,
    "url": (url, REQUIRED),
    "headers": (headers, {}),
    **_limits(integrations.HTTP_SIGNALS),
    "output": (enum(*integrations.HTTP_OUTPUTS), integrations.HTTP_OUTPUTS[0]),
}
INTEGRATIONS: Spec = {
    **{key: (nullable(nested(spec)), None) for key, spec in INTEGRATION_PROVIDERS.items()},
    integrations.HTTP_SIGNALS: (unique_ids(nested(HTTP_SIGNAL)), []),
}


def text(maximum: int) -> Check:
    """A non-blank string of at most `maximum` characters (null when there is none)."""

    def check(raw: Any, path: str, errors: Errors) -> str | None:
        if not isinstance(raw, str) or not raw.strip():
            errors.append(ConfigError(path, "must be a non-blank string (or null)"))
            return None
        if len(raw) > maximum:
            errors.append(ConfigError(path, f"must be at most {maximum} characters"))
            return None
        return raw

    return check


def _media_review(raw: Any, path: str, errors: Errors) -> dict | None:
    """`{mode: ALL}` or `{mode: MINIMUM, count: N}` with N >= 1."""
    spec: Spec = {
        "mode": (enum(*MediaReviewMode), REQUIRED),
        "count": (integer(1), OPTIONAL),
    }
    data = obj(raw, path, errors, spec)
    if not data or data.get("mode") is None:
        return data
    if data["mode"] == MediaReviewMode.MINIMUM and "count" not in data:
        errors.append(ConfigError(f"{path}.count", "is required with mode MINIMUM"))
    if data["mode"] == MediaReviewMode.ALL and "count" in data:
        errors.append(ConfigError(f"{path}.count", "only mode MINIMUM takes a count"))
    return data


def ncmec_block(checks: dict[str, Check], defaults: dict[str, Any]) -> Spec:
    """The `ncmec` block: its keys' checks, with the defaults of coop.childsafety.settings
    (the one place they are written)."""
    assert checks.keys() == defaults.keys(), "every ncmec key needs a check and a default"
    return {key: (check, defaults[key]) for key, check in checks.items()}


NCMEC_CONTACT_PERSON: Spec = ncmec_block(
    {
        "firstName": nullable(text(200)),
        "lastName": nullable(text(200)),
        "email": nullable(_email),
        "phone": nullable(text(64)),
    },
    dict(NCMEC_DEFAULTS["contactPerson"]),
)
NCMEC: Spec = ncmec_block(
    {
        "companyReportName": nullable(name),
        "legalUrl": nullable(url),
        "contactEmail": nullable(_email),
        "defaultQueue": nullable(ref),
        "username": nullable(text(255)),
        "password": nullable(credential),
        "moreInfoUrl": nullable(url),
        "termsOfService": nullable(text(NCMEC_TEXT_LIMIT)),
        "contactPerson": nested(NCMEC_CONTACT_PERSON),
        "defaultInternetDetailType": nullable(enum(*InternetDetailType)),
        "mediaReview": _media_review,
        "additionalInfoEndpoint": nullable(url),
        "preservationEndpoint": nullable(url),
    },
    dict(NCMEC_DEFAULTS),
)


def item_type(raw: Any, path: str, errors: Errors) -> dict | None:
    """Shape plus the checks internal to one item type: containers and roles."""
    data = obj(raw, path, errors, ITEM_TYPE)
    if not data or data.get("fields") is None:
        return data
    by_name: dict[str, dict] = {}
    for i, spec in enumerate(data["fields"]):
        if not spec:
            continue
        where = f"{path}.fields[{i}]"
        if spec.get("name") in by_name:
            errors.append(ConfigError(f"{where}.name", f"duplicate field {spec['name']!r}"))
        by_name.setdefault(spec.get("name"), spec)
        for container, key in (("ARRAY", "items"), ("MAP", "values")):
            if spec.get("type") == container and key not in spec:
                errors.append(ConfigError(f"{where}.{key}", f"{container} needs {key}: <scalar>"))
            if spec.get("type") != container and key in spec:
                errors.append(ConfigError(f"{where}.{key}", f"only {container} fields take {key}"))
    for i, hidden in enumerate(data.get("hiddenFields") or []):
        if hidden is not None and hidden not in by_name:
            errors.append(ConfigError(f"{path}.hiddenFields[{i}]", f"unknown field {hidden!r}"))
    _check_roles(data, by_name, path, errors)
    return data


def _check_roles(data: dict, by_name: dict[str, dict], path: str, errors: Errors) -> None:
    """Each role names a field of the type the role needs, on an item kind that has it."""
    for role, field_name in (data.get("roles") or {}).items():
        where = f"{path}.roles.{role}"
        if role not in FieldRole.__members__.values():
            errors.append(ConfigError(where, f"unknown role; use one of {', '.join(FieldRole)}"))
            continue
        wanted, kinds = ROLE_CONSTRAINTS[FieldRole(role)]
        if kinds is not None and data.get("kind") and data["kind"] not in kinds:
            errors.append(
                ConfigError(where, f"role {role} is not allowed for {data['kind']} item types")
            )
        spec = by_name.get(field_name)
        if spec is None:
            errors.append(ConfigError(where, f"unknown field {field_name!r}"))
        elif spec.get("type") != wanted:
            errors.append(
                ConfigError(
                    where, f"field {field_name!r} is {spec.get('type')}; {role} needs {wanted}"
                )
            )


def action(raw: Any, path: str, errors: Errors) -> dict | None:
    data = obj(raw, path, errors, ACTION)
    for i, param in enumerate((data or {}).get("parameters") or []):
        if param and "default" in param and param.get("type"):
            message = parameter_value_error(param["type"], param["default"])
            if message:
                errors.append(ConfigError(f"{path}.parameters[{i}].default", message))
    return data


def parameter_value_error(kind: str, value: Any) -> str | None:
    ok = {
        ParameterType.STRING: isinstance(value, str),
        ParameterType.NUMBER: isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value),
        ParameterType.BOOLEAN: isinstance(value, bool),
    }[kind]
    return None if ok else f"must be a {kind.lower()}"
