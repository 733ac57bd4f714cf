"""Server-side permission checks for console views, and the registry the access tests walk.

Every console view is wrapped in `require_permission(...)` (or marked `public_view` for the few
pages anyone may open, like /login). The decorator records what it requires on the view, so
`console_urls()` can list every URL with its permissions straight from the URL configuration:
the access-control matrix test (tests/web/test_access_matrix.py) iterates that list, and a URL
that is neither protected nor public fails it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, get_resolver

from coop.accounts.permissions import Permission

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Access:
    """What a view requires: every one of `permissions` (none = signed in) and a method."""

    permissions: tuple[Permission, ...]
    methods: tuple[str, ...]

    def allows(self, user) -> bool:
        if not user.is_authenticated or not user.is_active:
            return False
        return all(user.has_permission(p) for p in self.permissions)


def require_permission(*permissions: Permission, methods: Iterable[str] = ("GET", "HEAD")):
    """Sign-in, then every permission in `permissions`, then the HTTP method.

    Anonymous users are redirected to /login?next=…; signed-in users lacking a permission get
    the 403 page. With no permissions it only requires a signed-in (active) user.
    """
    access = Access(tuple(Permission(p) for p in permissions), tuple(m.upper() for m in methods))

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not access.allows(request.user):
                return forbidden(request)
            if request.method not in access.methods:
                return HttpResponseNotAllowed(access.methods)
            return view(request, *args, **kwargs)

        wrapper.coop_access = access
        return wrapper

    return decorator


def public_view(view: View) -> View:
    """Marks a view anyone may open (sign-in pages). Makes the exception explicit for the tests."""
    view.coop_public = True
    return view


def is_htmx(request: HttpRequest) -> bool:
    """Whether the request came from htmx (it then wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "403.html", status=403)


def can_open(user, view: View) -> bool:
    """Whether `user` passes the checks of a view wrapped by `require_permission`."""
    access = getattr(view, "coop_access", None)
    return access is not None and access.allows(user)


@dataclass(frozen=True)
class ConsoleUrl:
    name: str
    route: str
    view: View
    access: Access | None  # None for public views
    converters: dict  # argument name -> path converter, for building sample URLs


def console_urls() -> list[ConsoleUrl]:
    """Every console URL (all but /api/, which authenticates with API keys) with its access."""
    found: list[ConsoleUrl] = []

    def walk(patterns, prefix: str, namespace: str, converters: dict) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            all_converters = {**converters, **getattr(entry.pattern, "converters", {})}
            if isinstance(entry, URLResolver):
                if route.startswith("api/"):
                    continue
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, route, ns, all_converters)
            elif isinstance(entry, URLPattern):
                found.append(
                    ConsoleUrl(
                        name=f"{namespace}{entry.name or ''}",
                        route=route,
                        view=entry.callback,
                        access=getattr(entry.callback, "coop_access", None),
                        converters=all_converters,
                    )
                )

    walk(get_resolver().url_patterns, "", "", {})
    return found
