"""One place for every call Coop makes to an integration while evaluating items.

A call to OpenAI, Google Content Safety, Zentropi or an HTTP signal goes through `call()`:

- **shared**: within one item's evaluation (`evaluation_scope`) one value is sent once, however
  many leaves and signals ask (every OpenAI category of a text is one moderation call), and its
  answer is reused from a per-process cache for the integration's `cacheTtlSeconds`;
  concurrent identical calls wait for the first instead of repeating it;
- **bounded**: each attempt has the integration's timeout, at most `concurrency` calls per
  integration are in flight in a process, answers are read up to `MAX_ANSWER_BYTES`, and all
  of it, retries and waiting for a free slot included, fits in the evaluation's time budget
  (COOP_EVALUATION_BUDGET_MS from the start of the item's evaluation);
- **classified**: 408, 429, 5xx and network errors are retried with backoff (honouring
  `Retry-After`) while the budget lasts; 401 and 403 are permanent: recorded as the
  integration's last error and not tried again for `AUTH_RETRY_SECONDS` unless its
  configuration changes; anything else fails at once. A failure raises `SignalUnavailable`,
  whose message becomes the ERRORED leaf's reason in the execution log.

Connections go through coop.outbound's guarded client (a configured `baseUrl` or HTTP signal
URL is configuration, so the SSRF rules apply to it as to webhooks).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx
from django.conf import settings

from coop.enforcement.delivery import parse_retry_after
from coop.integrations import status
from coop.integrations.config import Limits
from coop.outbound import AddressRefusedError, guarded_client

T = TypeVar("T")

MAX_ANSWER_BYTES = 1024 * 1024
EXCERPT_CHARS = 200
AUTH_RETRY_SECONDS = 60.0
MAX_CACHE_ENTRIES = 10_000  # per integration
BACKOFF_FIRST = 0.25  # seconds before the first retry; doubled each time
BACKOFF_MAX = 2.0
USER_AGENT = "Coop-Integrations/1"
RETRYABLE = frozenset({408, 429})
AUTH_FAILURES = frozenset({401, 403})


class SignalUnavailable(Exception):
    """An integration could not give an answer; the message says why, for the execution log
    (never a credential or a URL carrying one)."""


class PermanentFailure(SignalUnavailable):
    """No call can succeed until the configuration changes: the provider refused the
    credentials (401/403), or they cannot be read (an unset environment variable)."""


class BadInput(SignalUnavailable):
    """The value cannot be sent (an image that cannot be fetched): the item's problem, not the
    integration's, so it is not recorded as the integration's last error."""


class Integration(Protocol):
    """What `call` needs of a configured provider or HTTP signal."""

    @property
    def key(self) -> str: ...

    @property
    def label(self) -> str: ...

    limits: Limits
    fingerprint: str


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes
    max_answer_bytes: int = MAX_ANSWER_BYTES


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes

    def excerpt(self) -> str:
        text = self.body[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace").strip()
        return text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else "")


# --- one item's evaluation -------------------------------------------------------------------


@dataclass
class Scope:
    deadline: float
    budget: str  # "the evaluation's time budget (10 s, COOP_EVALUATION_BUDGET_MS)"
    results: dict[Hashable, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_scope: ContextVar[Scope | None] = ContextVar("integration_scope", default=None)


def budget_seconds() -> float:
    return settings.COOP_EVALUATION_BUDGET_MS / 1000


def new_scope(budget: float | None = None, name: str | None = None) -> Scope:
    """The state of one item's evaluation: its calls share answers and one time budget,
    `budget` seconds from now (COOP_EVALUATION_BUDGET_MS unless given), which messages call
    `name`."""
    if budget is None:
        budget = budget_seconds()
        name = name or f"the evaluation's time budget ({budget:g} s, COOP_EVALUATION_BUDGET_MS)"
    name = name or f"the time budget ({budget:g} s)"
    return Scope(time.monotonic() + budget, name)


@contextmanager
def in_scope(scope: Scope) -> Iterator[None]:
    """Make the calls of this thread part of `scope` (one item's calls made in threads)."""
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def evaluation_scope(budget: float | None = None, name: str | None = None) -> Iterator[None]:
    """The evaluation of one item (`new_scope`). A call made outside any scope gets a budget
    of its own."""
    with in_scope(new_scope(budget, name)):
        yield


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: SignalUnavailable) -> None:
        self.error = error


# --- process-wide state ----------------------------------------------------------------------


class _Cache:
    """Answers by key for a time; least recently used dropped past MAX_CACHE_ENTRIES."""

    def __init__(self) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return False, None
            if found[0] <= time.monotonic():
                del self._entries[key]
                return False, None
            self._entries.move_to_end(key)
            return True, found[1]

    def put(self, key: Hashable, value: Any, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_CACHE_ENTRIES:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.caches: dict[str, _Cache] = {}
        self.slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
        self.inflight: dict[Hashable, list[Any]] = {}  # key -> [lock, users]
        self.refused: dict[tuple[str, str], tuple[float, str]] = {}  # auth failures
        self.local = threading.local()

    def cache(self, key: str) -> _Cache:
        with self.lock:
            return self.caches.setdefault(key, _Cache())

    def slot(self, key: str, limit: int) -> threading.BoundedSemaphore:
        with self.lock:
            return self.slots.setdefault((key, limit), threading.BoundedSemaphore(limit))

    @contextmanager
    def single_flight(self, key: Hashable, timeout: float) -> Iterator[bool]:
        """Hold the one lock of `key` (False: not obtained within `timeout`). Locks are
        counted, so the table only holds keys being asked for."""
        with self.lock:
            entry = self.inflight.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        held = entry[0].acquire(timeout=max(0.0, timeout))
        try:
            yield held
        finally:
            if held:
                entry[0].release()
            with self.lock:
                entry[1] -= 1
                if not entry[1]:
                    del self.inflight[key]

    def client(self) -> httpx.Client:
        """One connection pool per thread, reused across calls."""
        client = getattr(self.local, "client", None)
        if client is None:
            client = guarded_client()
            self.local.client = client
        return client


_state = _State()


def reset() -> None:
    """Forget cached answers and remembered credential refusals (tests, configuration
    reloads keep them: their keys carry the configuration's fingerprint)."""
    with _state.lock:
        for cache in _state.caches.values():
            cache.clear()
        _state.refused.clear()
    status.forget()


def value_key(value: object) -> str:
    """A short key for a (possibly long) value: its SHA-256."""
    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


# --- the call --------------------------------------------------------------------------------


def call(
    integration: Integration,
    key: Hashable,
    prepare: Callable[[], Request],
    parse: Callable[[Answer], T],
    *,
    cached: bool = True,
) -> T:
    """The parsed answer of `integration` for the value named by `key`, or SignalUnavailable.

    `prepare` builds the request (it may fetch media, resolve credentials; it raises
    SignalUnavailable when it cannot) and runs only when no shared answer exists; `parse`
    turns a 2xx answer into the value (raising SignalUnavailable for a malformed one).
    `cached=False` (a connection test) neither reads nor fills the cache.
    """
    full_key = (integration.key, integration.fingerprint, key)
    scope = _scope.get()
    if scope is None:
        with evaluation_scope():
            return call(integration, key, prepare, parse, cached=cached)
    with _state.single_flight(full_key, scope.deadline - time.monotonic()) as held:
        if not held:
            raise SignalUnavailable(f"{integration.label}: {_over_budget(scope)}")
        with scope.lock:
            shared = scope.results.get(full_key) if cached else None
        if shared is not None:
            return _unwrap(shared)
        cache = _state.cache(integration.key)
        found, value = cache.get(full_key) if cached else (False, None)
        if not found:
            try:
                value = _fresh(integration, prepare, parse, scope)
            except SignalUnavailable as exc:
                value = _Failed(exc)
            else:
                if cached:
                    cache.put(full_key, value, integration.limits.cache_ttl)
        with scope.lock:
            scope.results[full_key] = value
    return _unwrap(value)


def _unwrap(value: Any) -> Any:
    if isinstance(value, _Failed):
        raise type(value.error)(str(value.error))
    return value


def _over_budget(scope: Scope) -> str:
    return f"{scope.budget} was used up before an answer came"


def _fresh(
    integration: Integration,
    prepare: Callable[[], Request],
    parse: Callable[[Answer], T],
    scope: Scope,
) -> T:
    refused_key = (integration.key, integration.fingerprint)
    with _state.lock:
        refused = _state.refused.get(refused_key)
    if refused is not None and refused[0] > time.monotonic():
        raise PermanentFailure(refused[1])
    try:
        request = prepare()
    except BadInput:
        raise
    except SignalUnavailable as exc:
        permanent = isinstance(exc, PermanentFailure)
        status.record(integration.key, str(exc), permanent=permanent)
        raise
    slot = _state.slot(integration.key, integration.limits.concurrency)
    if not slot.acquire(timeout=max(0.0, scope.deadline - time.monotonic())):
        message = (
            f"{integration.label}: {integration.limits.concurrency} calls already in flight "
            f"(its concurrency limit) and {_over_budget(scope)}"
        )
        raise SignalUnavailable(message)
    try:
        answer = _send_with_retries(integration, request, scope)
    finally:
        slot.release()
    if answer.status in AUTH_FAILURES:
        message = (
            f"{integration.label} refused the credentials (HTTP {answer.status}): check its "
            "API key or headers"
        )
        with _state.lock:
            _state.refused[refused_key] = (time.monotonic() + AUTH_RETRY_SECONDS, message)
        status.record(integration.key, message, permanent=True)
        raise PermanentFailure(message)
    if not 200 <= answer.status < 300:
        message = f"{integration.label} answered HTTP {answer.status}: {answer.excerpt()}"
        status.record(integration.key, message)
        raise SignalUnavailable(message)
    try:
        value = parse(answer)
    except SignalUnavailable as exc:
        message = f"{integration.label} sent an answer Coop cannot read: {exc}"
        status.record(integration.key, message)
        raise SignalUnavailable(message) from None
    status.record(integration.key, None)
    return value


def _send_with_retries(integration: Integration, request: Request, scope: Scope) -> Answer:
    """The first answer that is not worth retrying, or SignalUnavailable once the budget is
    used up (the message says what the last attempt got)."""
    attempts, problem = 0, ""
    while True:
        left = scope.deadline - time.monotonic()
        if left <= 0:
            message = f"{integration.label}: {_over_budget(scope)}"
            status.record(integration.key, message)
            raise SignalUnavailable(message)
        attempts += 1
        timeout = min(integration.limits.timeout, left)
        retry_after: float | None = None
        try:
            answer = _send(request, timeout)
        except SignalUnavailable as exc:
            message = f"{integration.label}: {exc}"
            status.record(integration.key, message)
            raise SignalUnavailable(message) from None
        except httpx.TimeoutException:
            # An attempt cut short by the budget says less than the full ones before it.
            if not problem or timeout >= integration.limits.timeout:
                problem = f"timed out after {timeout:.3g} s"
        except httpx.TransportError as exc:
            if _refused_address(exc):
                message = f"{integration.label}: {_refused_address(exc)}"
                status.record(integration.key, message)
                raise SignalUnavailable(message) from None
            problem = f"could not connect ({type(exc).__name__})"
        else:
            if answer.status not in RETRYABLE and answer.status < 500:
                return answer
            problem = f"answered HTTP {answer.status}"
            retry_after = parse_retry_after(answer.headers)
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (attempts - 1)) * random.uniform(0.5, 1)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if time.monotonic() + delay >= scope.deadline:
            _give_up(integration, scope, attempts, problem)
        time.sleep(delay)


def _give_up(integration: Integration, scope: Scope, attempts: int, problem: str) -> None:
    times = "once" if attempts == 1 else f"{attempts} times"
    message = f"{integration.label} {problem} ({times}); gave up within {scope.budget}"
    status.record(integration.key, message)
    raise SignalUnavailable(message)


def _refused_address(exc: BaseException) -> str | None:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, AddressRefusedError):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return None


def _send(request: Request, timeout: float) -> Answer:
    headers = {"User-Agent": USER_AGENT, **request.headers}
    deadline = time.monotonic() + timeout
    with _state.client().stream(
        request.method,
        request.url,
        content=request.content,
        headers=headers,
        timeout=httpx.Timeout(timeout),
    ) as response:
        received = bytearray()
        for chunk in response.iter_bytes():
            received += chunk
            if len(received) > request.max_answer_bytes:
                raise SignalUnavailable(
                    f"the answer is larger than {request.max_answer_bytes} bytes"
                )
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("the answer took longer than the timeout")
        return Answer(response.status_code, response.headers, bytes(received))
