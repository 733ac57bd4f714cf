"""The /api/v1 error envelope (api.md, Errors) and the exceptions that produce it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from coop.catalog.item_data import escape_pointer_token

logger = logging.getLogger("coop.api")

INVALID_INPUT = "/errors/invalid-user-input"
NOT_FOUND = "/errors/not-found"
AUTHENTICATION = "/errors/authentication-failed-or-missing"
METHOD_NOT_ALLOWED = "/errors/method-not-allowed"
CONFLICT = "/errors/conflict"
PAYLOAD_TOO_LARGE = "/errors/payload-too-large"
RATE_LIMITED = "/errors/rate-limited"
INTERNAL = "/errors/internal-server-error"
SERVICE_UNAVAILABLE = "/errors/service-unavailable"


@dataclass(frozen=True, slots=True)
class ErrorItem:
    status: int
    type: str
    title: str
    detail: str | None = None
    pointer: str | None = None

    def as_json(self, request_id: str | None) -> dict:
        body: dict = {"status": self.status, "type": [self.type], "title": self.title}
        if self.detail is not None:
            body["detail"] = self.detail
        if self.pointer is not None:
            body["pointer"] = self.pointer
        if request_id:
            body["requestId"] = request_id
        return body


class ApiError(Exception):
    """One or more errors answered together; the HTTP status is the first one's."""

    def __init__(self, errors: Iterable[ErrorItem], headers: dict[str, str] | None = None):
        self.errors = list(errors)
        self.headers = headers or {}
        super().__init__(self.errors[0].title)

    @classmethod
    def one(
        cls,
        status: int,
        type_: str,
        title: str,
        detail: str | None = None,
        pointer: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiError:
        return cls([ErrorItem(status, type_, title, detail, pointer)], headers)

    @classmethod
    def invalid(cls, title: str, detail: str | None = None, pointer: str | None = None):
        return cls.one(400, INVALID_INPUT, title, detail, pointer)


def error_response(request: HttpRequest, error: ApiError) -> HttpResponse:
    request_id = getattr(request, "request_id", None)
    body = {"errors": [item.as_json(request_id) for item in error.errors]}
    response = HttpResponse(
        json.dumps(body), status=error.errors[0].status, content_type="application/json"
    )
    for name, value in error.headers.items():
        response[name] = value
    return response


def internal_error(request: HttpRequest) -> ApiError:
    """A 500 whose requestId is in the log next to the traceback (the body never has one)."""
    logger.exception(
        "Internal error on %s %s (requestId %s)",
        request.method,
        request.path,
        getattr(request, "request_id", None),
    )
    return ApiError.one(
        500,
        INTERNAL,
        "Internal server error",
        "An unexpected error occurred; quote the requestId when reporting it.",
    )


def service_unavailable(request: HttpRequest) -> ApiError:
    logger.warning(
        "Database unavailable on %s %s (requestId %s)",
        request.method,
        request.path,
        getattr(request, "request_id", None),
    )
    return ApiError.one(
        503,
        SERVICE_UNAVAILABLE,
        "Service unavailable",
        "The database cannot be reached; nothing was stored. Retry later.",
        headers={"Retry-After": "5"},
    )


def pointer_from_loc(loc: Iterable[str | int]) -> str:
    return "".join("/" + escape_pointer_token(part) for part in loc)
