"""Recording each integration's last error and last success (Settings → Integrations).

Calls happen inside rule evaluation, often in a transaction that holds submission rows, so the
row is written after that transaction commits (never holding its lock for the rest of the
batch), and only when something changed: a new error, or the first success after an error, or
at most once a minute per process otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.utils import timezone

from coop.integrations.models import IntegrationStatus

REFRESH_SECONDS = 60.0

_lock = threading.Lock()
_recorded: dict[str, tuple[str | None, float]] = {}
# Writes held back by `deferred()` (shared by the threads that copied its context).
_deferred: ContextVar[list[Callable[[], None]] | None] = ContextVar("deferred", default=None)


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

    held = _deferred.get()
    if now:
        write()
    elif held is not None:
        held.append(write)
    else:
        transaction.on_commit(write, robust=True)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold the writes of the calls made inside the block, in this thread and in threads
    running a copy of its context (they have no database connection of their own), and
    make them at its end, in this thread."""
    held: list[Callable[[], None]] = []
    token = _deferred.set(held)
    try:
        yield
    finally:
        _deferred.reset(token)
        for write in held:
            transaction.on_commit(write, robust=True)


def forget() -> None:
    """Forget what this process wrote (tests; a status row deleted meanwhile)."""
    with _lock:
        _recorded.clear()


def statuses() -> dict[str, IntegrationStatus]:
    return {row.key: row for row in IntegrationStatus.objects.all()}
