"""Checks of matching values (regexes, locations, hashes), shared by banks and condition leaves.

Each check returns an error message, or None when the value is valid, so callers can attach
their own path to it.
"""

from __future__ import annotations

import math
import re

import re2

from coop.signals.text.matcher import InvalidPattern, RegexMatcher

GEOHASH_ALPHABET = frozenset("0123456789bcdefghjkmnpqrstuvwxyz")
HASH_FORMATS = {"pdq": re.compile(r"[0-9a-f]{64}"), "md5": re.compile(r"[0-9a-f]{32}")}
DEFAULT_HASH_THRESHOLD = 31


def regex_error(pattern: object) -> str | None:
    """Patterns are RE2 (linear time), compiled as the rules engine compiles them (an RE2 set,
    case-insensitive), so anything it would refuse is refused when saved."""
    if not isinstance(pattern, str) or not pattern:
        return "must be a non-empty string"
    try:
        RegexMatcher([pattern])
    except InvalidPattern as exc:
        return f"invalid regex: {exc.reason}"
    except re2.error:
        return "invalid regex: too large for RE2 once compiled"
    return None


def geohash_error(value: object) -> str | None:
    if not isinstance(value, str) or not 1 <= len(value) <= 12:
        return "must be a geohash of 1 to 12 characters"
    if not set(value.lower()) <= GEOHASH_ALPHABET:
        return f"invalid geohash {value!r}"
    return None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _point_error(point: object) -> str | None:
    if not isinstance(point, dict) or set(point) != {"lat", "lng"}:
        return "must be {lat, lng}"
    if not _number(point["lat"]) or not -90 <= point["lat"] <= 90:
        return "lat must be a number from -90 to 90"
    if not _number(point["lng"]) or not -180 <= point["lng"] <= 180:
        return "lng must be a number from -180 to 180"
    return None


def location_error(location: object) -> str | None:
    """A location is {name?, geohash} | {name?, lat, lng, radiusMiles} | {name?, bounds}."""
    if not isinstance(location, dict):
        return "must be a location: {geohash}, {lat, lng, radiusMiles} or {bounds}"
    if "name" in location and not isinstance(location["name"], str):
        return "name must be a string"
    keys = set(location) - {"name"}
    if keys == {"geohash"}:
        return geohash_error(location["geohash"])
    if keys == {"lat", "lng", "radiusMiles"}:
        point_error = _point_error({"lat": location["lat"], "lng": location["lng"]})
        if point_error:
            return point_error
        if not _number(location["radiusMiles"]) or location["radiusMiles"] <= 0:
            return "radiusMiles must be a positive number"
        return None
    if keys == {"bounds"}:
        bounds = location["bounds"]
        if not isinstance(bounds, dict) or set(bounds) != {"northeast", "southwest"}:
            return "bounds must be {northeast: {lat, lng}, southwest: {lat, lng}}"
        for corner in ("northeast", "southwest"):
            corner_error = _point_error(bounds[corner])
            if corner_error:
                return f"bounds.{corner}: {corner_error}"
        if bounds["northeast"]["lat"] <= bounds["southwest"]["lat"]:
            return "bounds: northeast must be north of southwest"
        return None
    return "must be exactly one of {geohash}, {lat, lng, radiusMiles} or {bounds} (plus name)"


def hash_error(signal_type: str, value: object) -> str | None:
    pattern = HASH_FORMATS.get(signal_type)
    if pattern is None:
        return f"unknown signal type {signal_type!r}"
    if not isinstance(value, str) or not pattern.fullmatch(value):
        return f"must be a {signal_type} hash in lowercase hex"
    return None
