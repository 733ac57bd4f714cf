"""Validation and coercion of item `data` against an item type's schema (rules.md, item types).

This is the ingest hot path, so each (item type, version) is compiled once into a list of
per-field coercion closures; validating an item is then one dict walk with no schema lookups.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from coop.core.field_types import EMPTY_STRING_IS_ABSENT, MEDIA_TYPES, FieldRole, FieldType
from coop.core.media import is_http_url

# Column widths of the submission table's item references (ingest.ItemSubmission).
MAX_ITEM_ID_LENGTH = 255
MAX_TYPE_ID_LENGTH = 64

GEOHASH_ALPHABET = frozenset("0123456789bcdefghjkmnpqrstuvwxyz")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
INT_RE = re.compile(r"^[+-]?\d+$")
TRUE_STRINGS = frozenset({"true", "1"})
FALSE_STRINGS = frozenset({"false", "0"})


# Read once (a settings attribute costs a lazy lookup per value); tests' overrides refresh it.
_max_string_length: int = settings.COOP_MAX_STRING_LENGTH


def _refresh_limits(*, setting: str, **kwargs: Any) -> None:
    global _max_string_length
    if setting == "COOP_MAX_STRING_LENGTH":
        _max_string_length = settings.COOP_MAX_STRING_LENGTH


setting_changed.connect(_refresh_limits)


def _check_length(value: str) -> None:
    if len(value) > _max_string_length:
        raise _Invalid(f"is longer than {_max_string_length} characters")


class ItemDataError(ValueError):
    """A value that cannot be coerced. `path` leads from `data` to the value (field, index...)."""

    def __init__(self, path: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.path = path
        self.message = message

    @property
    def pointer(self) -> str:
        """The JSON pointer suffix below `data`, e.g. `/images/2`."""
        return "".join("/" + escape_pointer_token(part) for part in self.path)


def escape_pointer_token(part: str | int) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


class _Invalid(Exception):
    """Raised by a scalar coercer; the field path is added by the caller."""


Coercer = Callable[[Any], Any]


def _string(value: Any) -> str:
    if type(value) is not str:
        raise _Invalid("must be a string")
    _check_length(value)
    return value


def _number(value: Any) -> int | float:
    kind = type(value)
    if kind is int or kind is float:
        return value
    if kind is str:
        text = value.strip()
        if INT_RE.match(text) and len(text) <= 20:
            return int(text)
        try:
            number = float(text)
        except ValueError:
            raise _Invalid("must be a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise _Invalid("must be a finite number")
        return number
    raise _Invalid("must be a number")


def _boolean(value: Any) -> bool:
    kind = type(value)
    if kind is bool:
        return value
    if kind is str:
        text = value.strip().lower()
        if text in TRUE_STRINGS:
            return True
        if text in FALSE_STRINGS:
            return False
    elif kind is int and value in (0, 1):
        return bool(value)
    raise _Invalid('must be a boolean (true/false, "true"/"false", "1"/"0")')


def _id(value: Any) -> str:
    kind = type(value)
    if kind is str:
        _check_length(value)
        return value
    if kind is int:
        return str(value)
    raise _Invalid("must be an ID (a string or an integer)")


def _datetime(value: Any) -> str:
    if type(value) is not str:
        raise _Invalid("must be an ISO 8601 date-time string")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid("must be an ISO 8601 date-time") from None
    return value


def _geohash(value: Any) -> str:
    if type(value) is not str:
        raise _Invalid("must be a geohash string")
    text = value.lower()
    if len(text) > 12 or not GEOHASH_ALPHABET.issuperset(text):
        raise _Invalid("must be a geohash (up to 12 characters of 0-9 and b-z without a, i, l, o)")
    return text


def _url(value: Any) -> str:
    if type(value) is not str:
        raise _Invalid("must be a URL string")
    _check_length(value)
    if not is_http_url(value):
        raise _Invalid("must be an http(s) URL")
    return value


def _media(value: Any) -> str:
    if type(value) is dict:
        if "url" not in value:
            raise _Invalid('must be a URL or an object {"url": ...}')
        value = value["url"]
    return _url(value)


def _related_item(value: Any) -> dict[str, str]:
    if type(value) is not dict:
        raise _Invalid('must be an object {"id": ..., "typeId": ...}')
    item_id, type_id = value.get("id"), value.get("typeId")
    if type(item_id) is int:
        item_id = str(item_id)
    if type(item_id) is not str or not item_id or len(item_id) > MAX_ITEM_ID_LENGTH:
        raise _Invalid(f"must have an `id` string of 1 to {MAX_ITEM_ID_LENGTH} characters")
    if type(type_id) is not str or not type_id or len(type_id) > MAX_TYPE_ID_LENGTH:
        raise _Invalid(f"must have a `typeId` string of 1 to {MAX_TYPE_ID_LENGTH} characters")
    return {"id": item_id, "typeId": type_id}


def _policy_id(value: Any) -> str:
    if type(value) is int:
        return str(value)
    if type(value) is not str or not value or len(value) > MAX_TYPE_ID_LENGTH:
        raise _Invalid(f"must be a policy id (a string of 1 to {MAX_TYPE_ID_LENGTH} characters)")
    return value


def _ip_address(value: Any) -> str:
    if type(value) is not str or "%" in value:
        raise _Invalid("must be an IPv4 or IPv6 address")
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise _Invalid("must be an IPv4 or IPv6 address") from None


def _email(value: Any) -> str:
    if type(value) is not str or len(value) > 320 or not EMAIL_RE.match(value):
        raise _Invalid("must be an email address")
    return value


SCALAR_COERCERS: dict[FieldType, Coercer] = {
    FieldType.STRING: _string,
    FieldType.NUMBER: _number,
    FieldType.BOOLEAN: _boolean,
    FieldType.ID: _id,
    FieldType.DATETIME: _datetime,
    FieldType.GEOHASH: _geohash,
    FieldType.URL: _url,
    FieldType.RELATED_ITEM: _related_item,
    FieldType.POLICY_ID: _policy_id,
    FieldType.IP_ADDRESS: _ip_address,
    FieldType.EMAIL_ADDRESS: _email,
    **dict.fromkeys(MEDIA_TYPES, _media),
}


def _is_absent(value: Any, empty_is_absent: bool) -> bool:
    return value is None or (empty_is_absent and value == "")


def _scalar(field_type: FieldType) -> Callable[[Any], Any]:
    """A coercer raising ItemDataError with an empty path (the caller prefixes the field)."""
    coerce = SCALAR_COERCERS[field_type]

    def run(value: Any) -> Any:
        try:
            return coerce(value)
        except _Invalid as exc:
            raise ItemDataError((), f"{exc} ({field_type.value})") from None

    return run


def _array(item_type: FieldType) -> Callable[[Any], Any]:
    coerce = SCALAR_COERCERS[item_type]
    empty_is_absent = item_type in EMPTY_STRING_IS_ABSENT

    def run(value: Any) -> list:
        if type(value) is not list:
            raise ItemDataError((), f"must be an array of {item_type.value}")
        out = []
        for index, element in enumerate(value):
            if _is_absent(element, empty_is_absent):
                continue
            try:
                out.append(coerce(element))
            except _Invalid as exc:
                raise ItemDataError((index,), f"{exc} ({item_type.value})") from None
        return out

    return run


def _map(value_type: FieldType) -> Callable[[Any], Any]:
    coerce = SCALAR_COERCERS[value_type]
    empty_is_absent = value_type in EMPTY_STRING_IS_ABSENT

    def run(value: Any) -> dict:
        if type(value) is not dict:
            raise ItemDataError((), f"must be an object whose values are {value_type.value}")
        out = {}
        for key, element in value.items():
            if _is_absent(element, empty_is_absent):
                continue
            try:
                out[key] = coerce(element)
            except _Invalid as exc:
                raise ItemDataError((key,), f"{exc} ({value_type.value})") from None
        return out

    return run


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    required: bool
    empty_is_absent: bool
    coerce: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class ItemRoles:
    """The role values a submission row stores in its own columns."""

    creator_id: str | None = None
    creator_type_id: str | None = None
    thread_id: str | None = None
    thread_type_id: str | None = None
    ip_address: str | None = None


class ItemSchema:
    """A compiled item type schema: `validate` coerces data, `roles` extracts role values."""

    __slots__ = ("_creator", "_fields", "_ip", "_thread", "type_id", "version")

    def __init__(self, type_id: str, version: int, fields: list[dict], roles: dict[str, str]):
        self.type_id = type_id
        self.version = version
        self._fields = tuple(_compile_field(spec) for spec in fields)
        self._creator = roles.get(FieldRole.CREATOR_ID)
        self._thread = roles.get(FieldRole.THREAD_ID)
        self._ip = roles.get(FieldRole.IP_ADDRESS)

    def validate(self, data: Any, partial: bool = False) -> dict[str, Any]:
        """The coerced copy of `data`; absent fields are dropped, unknown keys kept as given.

        `partial` (schema variant `partial`) makes every field optional.
        """
        if type(data) is not dict:
            raise ItemDataError((), "must be an object")
        out = dict(data)
        for field in self._fields:
            name = field.name
            value = data.get(name)
            if value is None or (field.empty_is_absent and value == ""):
                out.pop(name, None)
                if field.required and not partial:
                    raise ItemDataError((name,), f"`{name}` is required")
                continue
            try:
                out[name] = field.coerce(value)
            except ItemDataError as exc:
                raise ItemDataError((name, *exc.path), f"`{name}` {exc.message}") from None
        return out

    def roles(self, data: dict[str, Any]) -> ItemRoles:
        """Creator, thread and IP address of validated `data`, for the submission's columns."""
        creator = data.get(self._creator) if self._creator else None
        thread = data.get(self._thread) if self._thread else None
        ip = data.get(self._ip) if self._ip else None
        if creator is None and thread is None and ip is None:
            return _NO_ROLES
        return ItemRoles(
            creator_id=creator["id"] if type(creator) is dict else None,
            creator_type_id=creator["typeId"] if type(creator) is dict else None,
            thread_id=thread["id"] if type(thread) is dict else None,
            thread_type_id=thread["typeId"] if type(thread) is dict else None,
            ip_address=ip if type(ip) is str else None,
        )


_NO_ROLES = ItemRoles()


def _compile_field(spec: dict) -> _Field:
    field_type = FieldType(spec["type"])
    if field_type is FieldType.ARRAY:
        coerce = _array(FieldType(spec["items"]))
    elif field_type is FieldType.MAP:
        coerce = _map(FieldType(spec["values"]))
    else:
        coerce = _scalar(field_type)
    return _Field(
        name=spec["name"],
        required=bool(spec.get("required", False)),
        empty_is_absent=field_type in EMPTY_STRING_IS_ABSENT,
        coerce=coerce,
    )


_cache: dict[tuple[str, int, object], ItemSchema] = {}


def compiled_schema(
    type_id: str, version: int, fields: list[dict], roles: dict, revision: object = None
) -> ItemSchema:
    """The compiled schema of one item type version, compiled once per process.

    Versions are immutable (a change makes a new version), so the cache never goes stale;
    superseded versions of the same type are evicted when a newer one is compiled.
    `revision` (the row's updated_at) also tells apart a type deleted and created again in a
    database whose history was rolled back (tests, restored backups).
    """
    key = (type_id, version, revision)
    schema = _cache.get(key)
    if schema is None:
        schema = ItemSchema(type_id, version, fields, roles)
        for old in [k for k in _cache if k[0] == type_id]:
            del _cache[old]
        _cache[key] = schema
    return schema


def schemas_for(item_types: Iterable[Any]) -> dict[str, ItemSchema]:
    """Compiled schemas of ItemType rows (anything with id, version, fields, roles), by id."""
    return {
        t.id: compiled_schema(t.id, t.version, t.fields, t.roles, getattr(t, "updated_at", None))
        for t in item_types
    }
