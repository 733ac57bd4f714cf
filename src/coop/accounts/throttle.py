"""Login throttling (accounts.md): failures are counted per account and per address, separately.

django-axes records every failure (one `AccessAttempt` row per account, address and user agent)
and enforces the lock: once the failures of an account, or of an address, within the last
`AXES_COOLOFF_TIME` reach `AXES_FAILURE_LIMIT`, its authentication backend refuses every attempt,
even with the right password, until enough of those failures are older than the cool-off.

Before the lock, Coop slows repeated failures down: after the n-th failure (n ≥ 2) of an account
or an address, the next attempt is refused until `COOP_LOGIN_DELAY_SECONDS × 2^(n-2)` seconds
(at most `COOP_LOGIN_DELAY_MAX_SECONDS`) have passed since the last failure. The delay is enforced
by refusing early attempts (429 with `Retry-After`), never by sleeping in a web worker, and a
refused attempt checks no password and counts no failure.

Attempts on the same account or from the same address are also serialised: while one is being
checked, a concurrent one is refused at once (a PostgreSQL advisory lock, tried, never waited
for), so parallel requests cannot all pass the checks before any failure is recorded.

A successful sign-in clears the failures recorded against that account (from every address). It
does not clear the address's failures against other accounts, so signing in to one's own account
does not launder an address that is guessing at others.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.helpers import get_client_ip_address, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

TEMPLATE = "web/locked_out.html"


@dataclass(frozen=True)
class Window:
    """The failures of one account or one address still inside the cool-off."""

    failures: int
    last: datetime | None
    lock_ends: datetime | None  # when the failures drop below the limit, if they are at it


def client_address(request: HttpRequest) -> str | None:
    """The address axes counts failures under (REMOTE_ADDR, as the server set it)."""
    return get_client_ip_address(request)


def _window(rows: list[tuple[datetime, int]], now: datetime) -> Window:
    cool_off = get_cool_off()
    limit = settings.AXES_FAILURE_LIMIT
    rows = sorted(row for row in rows if row[0] >= now - cool_off)
    failures = sum(count for _, count in rows)
    lock_ends = None
    remaining = failures
    for attempt_time, count in rows:
        if remaining < limit:
            break
        lock_ends = attempt_time + cool_off
        remaining -= count
    return Window(failures, rows[-1][0] if rows else None, lock_ends)


def windows(email: str, address: str | None, now: datetime) -> list[Window]:
    """The account's window and the address's window."""
    since = now - get_cool_off()
    keys = [{"username": email}]
    if address:
        keys.append({"ip_address": address})
    return [
        _window(
            list(
                AccessAttempt.objects.filter(attempt_time__gte=since, **key).values_list(
                    "attempt_time", "failures_since_start"
                )
            ),
            now,
        )
        for key in keys
    ]


def delay_after(failures: int) -> timedelta:
    """How long to wait after the last of `failures` failures (before the lock)."""
    if failures < 2:
        return timedelta(0)
    seconds = settings.COOP_LOGIN_DELAY_SECONDS * 2 ** (failures - 2)
    return timedelta(seconds=min(seconds, settings.COOP_LOGIN_DELAY_MAX_SECONDS))


def delay_remaining(email: str, address: str | None) -> timedelta:
    """How long the next attempt must still wait, when neither key is locked (axes refuses
    locked ones itself); zero when it may go ahead."""
    now = timezone.now()
    found = windows(email, address, now)
    if any(window.lock_ends for window in found):
        return timedelta(0)
    waits = [window.last + delay_after(window.failures) - now for window in found if window.last]
    return max([timedelta(0), *waits])


def lock_remaining(email: str | None, address: str | None) -> timedelta:
    now = timezone.now()
    ends = [window.lock_ends for window in windows(email or "", address, now) if window.lock_ends]
    return max(ends) - now if ends else timedelta(0)


def _advisory_key(kind: str, value: str) -> int:
    digest = hashlib.sha256(f"coop.login:{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def claim(email: str, address: str | None) -> bool:
    """Take the account's and the address's attempt locks for the current transaction, or
    answer False at once if another attempt holds one of them. Call inside `atomic()`."""
    keys = [_advisory_key("account", email)]
    if address:
        keys.append(_advisory_key("address", address))
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
            if not cursor.fetchone()[0]:
                return False
    return True


def record_success(email: str) -> None:
    AccessAttempt.objects.filter(username=email).delete()


def _describe(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def refusal(request: HttpRequest, wait: timedelta, *, locked: bool) -> HttpResponse:
    """429 page for a slowed-down or locked attempt, with `Retry-After`."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    response = render(
        request,
        TEMPLATE,
        {"locked": locked, "wait": _describe(wait)},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    response["Retry-After"] = str(seconds)
    return response


def busy(request: HttpRequest) -> HttpResponse:
    """Another attempt on the same account or from the same address is being checked."""
    return refusal(request, timedelta(seconds=1), locked=False)


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: axes refused a locked account or address."""
    field = settings.AXES_USERNAME_FORM_FIELD
    email = (credentials or {}).get(field) or request.POST.get(field, "").strip().lower()
    wait = lock_remaining(email, client_address(request))
    return refusal(request, wait or get_cool_off(), locked=True)
