"""API key authentication, the per-key rate limit, and the request body limits."""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from ninja.parser import Parser
from ninja.security import APIKeyHeader

from coop.accounts.models import ApiKey
from coop.accounts.services import authenticate_api_key
from coop.api.errors import PAYLOAD_TOO_LARGE, RATE_LIMITED, ApiError, pointer_from_loc

# Strings PostgreSQL cannot store (NUL) or UTF-8 cannot encode (lone surrogates) can only
# arrive as \u escapes, so the body is searched for these before walking the parsed strings.
SUSPICIOUS_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class ApiKeyAuth(APIKeyHeader):
    """`X-API-KEY` header; runs before the body is read. Also applies the per-key rate limit."""

    param_name = "X-API-KEY"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        api_key = authenticate_api_key(key)
        if api_key is not None:
            check_rate_limit(api_key)
        return api_key


_UPSERT_WINDOW = """
INSERT INTO ingest_ratelimitwindow AS w (api_key_id, "window", count) VALUES (%s, %s, 1)
ON CONFLICT (api_key_id) DO UPDATE
SET count = CASE WHEN w."window" = EXCLUDED."window" THEN w.count + 1 ELSE 1 END,
    "window" = EXCLUDED."window"
RETURNING count
"""


def check_rate_limit(api_key: ApiKey) -> None:
    """Fixed one-minute window per key: one UPSERT on the key's row, shared by all processes."""
    now = time.time()
    window = int(now // 60)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_WINDOW, [api_key.pk, window])
        (count,) = cursor.fetchone()
    limit = settings.COOP_RATE_LIMIT_PER_MINUTE
    if count > limit:
        retry_after = max(1, math.ceil((window + 1) * 60 - now))
        raise ApiError.one(
            429,
            RATE_LIMITED,
            "Rate limit exceeded",
            f"This API key may make {limit} requests per minute; retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


class LimitedJsonParser(Parser):
    """JSON bodies within the size and depth limits; NaN, Infinity and NUL are refused.

    Errors raised here reach the error handler as the cause of ninja's generic 400.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        limit = settings.COOP_MAX_BODY_BYTES
        try:
            declared = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise _too_large(limit)
        body = request.body
        if len(body) > limit:
            raise _too_large(limit)
        try:
            data = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
        except RecursionError:
            raise _too_deep() from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError.invalid("Malformed JSON", f"The body is not valid JSON: {exc}") from None
        if type(data) is not dict:
            raise ApiError.invalid("Invalid body", "The body must be a JSON object.", "")
        _check_structure(data, check_strings=SUSPICIOUS_ESCAPE.search(body) is not None)
        return data


def _too_large(limit: int) -> ApiError:
    return ApiError.one(
        413, PAYLOAD_TOO_LARGE, "Request body too large", f"The limit is {limit} bytes."
    )


def _too_deep(pointer: str | None = None) -> ApiError:
    depth = settings.COOP_MAX_JSON_DEPTH
    return ApiError.invalid(
        "JSON nested too deeply", f"Objects and arrays may nest at most {depth} deep.", pointer
    )


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"number out of range: {text[:20]}")
    return number


def _check_structure(data: dict, check_strings: bool) -> None:
    """Depth limit (and, if the body has suspicious escapes, storable strings) in one walk.

    The walk keeps no paths; the pointer is only computed for the rare rejected body.
    """
    max_depth = settings.COOP_MAX_JSON_DEPTH
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise _too_deep(
                pointer_from_loc(
                    _path_to(data, lambda n, d: d > max_depth and type(n) in (dict, list))
                )
            )
        values = node.values() if type(node) is dict else node
        if check_strings and type(node) is dict and any(not _storable(k) for k in node):
            raise _unstorable(data)
        for value in values:
            kind = type(value)
            if kind is dict or kind is list:
                stack.append((value, depth + 1))
            elif check_strings and kind is str and not _storable(value):
                raise _unstorable(data)


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unstorable(data: dict) -> ApiError:
    path = _path_to(data, lambda n, d: type(n) is str and not _storable(n), keys=True)
    return ApiError.invalid(
        "Invalid string",
        "Strings may not contain NUL characters or unpaired surrogates.",
        pointer_from_loc(path),
    )


def _path_to(data: Any, matches, keys: bool = False) -> list[str | int]:
    """The path of the first node for which `matches(node, depth)` holds (slow, errors only)."""
    stack: list[tuple[Any, int, list[str | int]]] = [(data, 1, [])]
    while stack:
        node, depth, path = stack.pop()
        if matches(node, depth):
            return path
        if type(node) is dict:
            for key, value in node.items():
                if keys and matches(key, depth):
                    return [*path, key]
                stack.append((value, depth + 1, [*path, key]))
        elif type(node) is list:
            stack.extend((value, depth + 1, [*path, i]) for i, value in enumerate(node))
    return []
