"""URLs of /api/v1: every route with and without its trailing slash, and the JSON 404."""

from __future__ import annotations

from functools import wraps

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, re_path
from django.views.decorators.csrf import csrf_exempt

from coop.api.errors import (
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    ApiError,
    error_response,
    internal_error,
    service_unavailable,
)
from coop.api.handlers import api


def api_boundary(view):
    """Gives the responses ninja builds outside its handlers (405, openapi.json) the envelope."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except (OperationalError, InterfaceError):
            return error_response(request, service_unavailable(request))
        except Exception:
            return error_response(request, internal_error(request))
        if response.status_code == 405:
            allowed = response.get("Allow", "")
            error = ApiError.one(
                405,
                METHOD_NOT_ALLOWED,
                "Method not allowed",
                f"{request.method} is not allowed here; allowed: {allowed}.",
                headers={"Allow": allowed},
            )
            return error_response(request, error)
        return response

    return wrapped


@csrf_exempt
def not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    return error_response(
        request,
        ApiError.one(404, NOT_FOUND, "Not found", f"No API route {request.path!r}."),
    )


def _with_both_slashes(patterns: list[URLPattern]) -> list[URLPattern]:
    result = []
    for pattern in patterns:
        route = str(pattern.pattern)
        if not route:
            # ninja's API root: not a route of the contract, but reversed for openapi.json.
            result.append(path("", not_found, name=pattern.name))
            continue
        view = api_boundary(pattern.callback)
        other = route[:-1] if route.endswith("/") else route + "/"
        result.append(path(route, view, name=pattern.name))
        result.append(path(other, view))
    return result


app_name = "api"
ninja_patterns, _, _ = api.urls
urlpatterns = [
    *_with_both_slashes(ninja_patterns),
    re_path(r"^(?P<unmatched>.*)$", not_found),
]
