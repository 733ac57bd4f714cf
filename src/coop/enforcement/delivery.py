"""Sending one webhook delivery and deciding what happens next (api.md, outgoing webhooks)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.db import connection
from django.utils import timezone

from coop.catalog.credentials import CredentialError, resolve_credential
from coop.enforcement.models import Delivery, DeliveryAttempt, DeliveryStatus
from coop.enforcement.signer import sign_all
from coop.outbound import guarded_client, header_problem

EXCERPT_BYTES = 1024
MAX_READ_BYTES = 64 * 1024
JITTER = 0.1  # each wait is the scheduled one ± 10 %
# A task may start slightly before the moment it was scheduled for (clocks, rounding).
EARLY_TOLERANCE = timedelta(seconds=1)
# The sweeper leaves recently due deliveries to their own task.
SWEEP_GRACE = timedelta(seconds=settings.COOP_DELIVERY_SWEEP_GRACE_SECONDS)
SWEEP_BATCH = 1000
USER_AGENT = "Coop-Webhooks/1"
SENDERS = 16  # concurrent sends per worker process

_local = threading.local()


def _client() -> httpx.Client:
    """One client (connection pool) per worker thread, reused across deliveries."""
    client = getattr(_local, "client", None)
    if client is None:
        client = guarded_client()
        _local.client = client
    return client


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str
    excerpt: str
    retry_after: float | None
    headers: tuple[tuple[str, str], ...] = ()  # the answer's headers, in order

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        code = self.status_code
        return code is None or code in (408, 429) or code >= 500


class UnsendableHeaderError(Exception):
    pass


def resolve_headers(headers: dict) -> dict[str, str]:
    """Header values that are stored credentials (`!secret NAME` or a value typed in the
    console, encrypted at rest) replaced by their clear value.

    The configuration schema refuses bad names, values and secrets on save; they are checked
    again here because a secret's value only exists at send time."""
    resolved = {}
    for name, value in headers.items():
        if isinstance(value, dict):
            try:
                value = resolve_credential(value)
            except CredentialError as exc:
                raise UnsendableHeaderError(f"header {name!r}: {exc}") from exc
        problem = header_problem(name, value)
        if problem:
            raise UnsendableHeaderError(f"header {name!r} {problem}")
        resolved[name] = value
    return resolved


def outgoing_headers(
    configured: dict, *, signature: str, delivery_id: str, event: str
) -> dict[str, str]:
    """Every header of one webhook request: the configured ones (secrets resolved) and Coop's
    own. Raises UnsendableHeaderError when a configured header cannot be sent."""
    headers = resolve_headers(configured)
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Coop-Signature": signature,
            "Coop-Delivery-Id": delivery_id,
            "Coop-Event": event,
        }
    )
    return headers


def send(row: Delivery, signature: str) -> Outcome:
    """POST the stored body bytes with their signature; never raises for HTTP or network
    problems."""
    try:
        headers = outgoing_headers(
            row.headers, signature=signature, delivery_id=str(row.id), event=row.event
        )
    except UnsendableHeaderError as exc:
        return Outcome(None, str(exc), "", None)
    return post(row.url, bytes(row.body), headers)


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """One POST through the SSRF-guarded client, read up to MAX_READ_BYTES within the total
    timeout; never raises for HTTP or network problems."""
    deadline = time.monotonic() + settings.COOP_WEBHOOK_TIMEOUT
    try:
        timeout = httpx.Timeout(
            settings.COOP_WEBHOOK_TIMEOUT, connect=settings.COOP_WEBHOOK_CONNECT_TIMEOUT
        )
        with _client().stream(
            "POST", url, content=body, headers=headers, timeout=timeout
        ) as response:
            received = bytearray()
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= MAX_READ_BYTES:
                    break
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the answer took longer than the total timeout")
            excerpt = bytes(received[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
            return Outcome(
                response.status_code,
                "",
                excerpt,
                parse_retry_after(response.headers),
                tuple(response.headers.items()),
            )
    except httpx.TimeoutException as exc:
        return Outcome(None, f"timeout: {type(exc).__name__} {exc}".strip(), "", None)
    except (httpx.HTTPError, OSError) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}", "", None)


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from a `Retry-After` of seconds or an HTTP date; None if absent."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - timezone.now()).total_seconds())


def retry_delay(failed_attempts: int, retry_after: float | None) -> float | None:
    """Seconds before the next attempt after `failed_attempts` failures in a row; None when
    the schedule is exhausted. A Retry-After longer than the scheduled wait wins (capped at the
    schedule's longest wait)."""
    schedule = settings.COOP_DELIVERY_SCHEDULE
    if failed_attempts > len(schedule):
        return None
    delay = schedule[failed_attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(schedule)))
    return delay


def attempt(delivery_ids: list[str]) -> dict[str, datetime]:
    """Make one attempt of each due delivery and record it; returns when to retry which.

    The rows stay locked (FOR UPDATE SKIP LOCKED) while sending, so two tasks never send one
    delivery at once; a task that finds a row locked or no longer due leaves it alone. The
    deliveries of a batch are sent concurrently. Call inside a transaction.
    """
    now = timezone.now()
    rows = list(
        Delivery.objects.select_for_update(skip_locked=True).filter(
            pk__in=delivery_ids,
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
            next_attempt_at__lte=now + EARLY_TOLERANCE,
        )
    )
    if not rows:
        return {}
    signatures = sign_all([bytes(row.body) for row in rows])
    started = timezone.now()
    results = list(_senders().map(_timed_send, rows, signatures))
    attempts, retries = [], {}
    for row, (outcome, duration_ms) in zip(rows, results, strict=True):
        row.attempts += 1
        attempts.append(
            DeliveryAttempt(
                delivery=row,
                number=row.attempts,
                started_at=started,
                duration_ms=duration_ms,
                status_code=outcome.status_code,
                error=outcome.error,
                response_excerpt=outcome.excerpt,
                retry_after_seconds=(
                    round(outcome.retry_after) if outcome.retry_after is not None else None
                ),
            )
        )
        retry_at = _next_state(row, outcome, timezone.now())
        if retry_at is not None:
            retries[str(row.pk)] = retry_at
    DeliveryAttempt.objects.bulk_create(attempts)
    Delivery.objects.bulk_update(
        rows,
        ["attempts", "round_attempts", "status", "next_attempt_at", "last_error", "updated_at"],
    )
    return retries


def _next_state(row: Delivery, outcome: Outcome, finished: datetime) -> datetime | None:
    row.updated_at = finished
    if outcome.delivered:
        row.status, row.next_attempt_at, row.last_error = DeliveryStatus.DELIVERED, None, ""
        return None
    row.round_attempts += 1
    row.last_error = outcome.error or f"HTTP {outcome.status_code}"
    delay = retry_delay(row.round_attempts, outcome.retry_after)
    if outcome.retryable and delay is not None:
        row.status = DeliveryStatus.FAILED
        row.next_attempt_at = finished + timedelta(seconds=delay)
        return row.next_attempt_at
    row.status, row.next_attempt_at = DeliveryStatus.DEAD, None
    return None


def _timed_send(row: Delivery, signature: str) -> tuple[Outcome, int]:
    clock = time.monotonic()
    outcome = send(row, signature)
    return outcome, round((time.monotonic() - clock) * 1000)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _senders() -> ThreadPoolExecutor:
    """Threads that send the deliveries of a batch at once (each with its own client)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="coop-webhook")
        return _pool


# Due deliveries (past a grace period) without a waiting `coop.deliver` job.
_ORPHANED_DUE = """
SELECT d.id FROM enforcement_delivery d
WHERE d.status IN ('PENDING', 'FAILED') AND d.next_attempt_at <= %s
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.task_name = 'coop.deliver' AND j.status = 'todo'
        AND j.args->'delivery_ids' ? d.id::text
  )
ORDER BY d.next_attempt_at
LIMIT %s
"""


def orphaned_due() -> list[str]:
    """Deliveries that are due but whose task was lost (e.g. its worker was killed)."""
    with connection.cursor() as cursor:
        cursor.execute(_ORPHANED_DUE, [timezone.now() - SWEEP_GRACE, SWEEP_BATCH])
        return [str(pk) for (pk,) in cursor.fetchall()]
