"""Recording each integration's last error and last success (Settings → Integrations).

Calls happen inside rule evaluation, often in a transaction that holds submission rows, so the
row is written after that transaction commits (never holding its lock for the rest of the
batch), and only when something changed: a new error, or the first success after an error, or
at most once a minute per process otherwise.
"""

from __future__ import annotations

import threading
import time

from django.db import transaction
from django.utils import timezone

from coop.integrations.models import IntegrationStatus

REFRESH_SECONDS = 60.0

_lock = threading.Lock()
_recorded: dict[str, tuple[str | None, float]] = {}


def record(key: str, error: str | None, *, permanent: bool = False, now: bool = False) -> None:
    """Note the outcome of a call to integration `key` (`error` None: it succeeded).

    `now`: write at once (a connection test the user waits for), not after the commit."""
    moment = time.monotonic()
    with _lock:
        previous = _recorded.get(key)
        if (
            not now
            and previous is not None
            and previous[0] == error
            and moment - previous[1] < REFRESH_SECONDS
        ):
            return
        _recorded[key] = (error, moment)
    at = timezone.now()

    def write() -> None:
        if error is None:
            IntegrationStatus.objects.update_or_create(key=key, defaults={"last_success_at": at})
        else:
            IntegrationStatus.objects.update_or_create(
                key=key,
                defaults={
                    "last_error": error,
                    "last_error_at": at,
                    "last_error_permanent": permanent,
                },
            )

    if now:
        write()
    else:
        transaction.on_commit(write, robust=True)


def forget() -> None:
    """Forget what this process wrote (tests; a status row deleted meanwhile)."""
    with _lock:
        _recorded.clear()


def statuses() -> dict[str, IntegrationStatus]:
    return {row.key: row for row in IntegrationStatus.objects.all()}
