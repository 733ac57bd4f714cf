"""The one SSRF-safe fetcher for media at URLs from item data or configuration (quality.md).

Every connection goes through `coop.outbound.GuardedBackend`: the host is resolved once, the
answers are checked with outbound's address policy (loopback, private, link-local, multicast,
CGNAT, reserved and cloud-metadata addresses are refused unless COOP_FETCH_ALLOW_PRIVATE=1) and
the connection is made to the checked address, so a second DNS answer cannot redirect it.

On top of that the fetcher follows redirects itself (at most `MAX_REDIRECTS`, each hop's URL
checked and its address checked when connecting; a loop is an error), caps the body
(COOP_MEDIA_MAX_BYTES: a larger Content-Length is refused before reading, and reading stops
past the cap) and the time (COOP_MEDIA_CONNECT_TIMEOUT per connection, COOP_MEDIA_TIMEOUT for
the whole fetch, redirects included), and decides what the body is from its bytes
(`coop.media.sniff`), never from the Content-Type header.

Every failure is one exception, `MediaFetchError`, whose `reason` is a sentence for the
execution log (an ERRORED leaf) and whose `problem` says which check failed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpcore
import httpx
from django.conf import settings

from coop.media.sniff import MediaKind, sniff
from coop.outbound import (
    AddressRefusedError,
    GuardedBackend,
    Resolver,
    backend_transport,
    system_resolver,
)

MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MEDIA_KINDS: frozenset[MediaKind] = frozenset({MediaKind.IMAGE, MediaKind.VIDEO})
ANY_KIND: frozenset[MediaKind] = frozenset(MediaKind)
HEADERS = {
    "User-Agent": "Coop media fetcher",
    "Accept": "image/*, video/*;q=0.9, */*;q=0.1",
    "Accept-Encoding": "identity",
}
# A redirect body up to this size is read (and dropped) so the connection can be reused.
REDIRECT_BODY_BYTES = 64 * 1024
# Entries one batch cache holds at most (failures included), whatever their size.
MAX_CACHE_ENTRIES = 10_000


class FetchProblem(StrEnum):
    BAD_URL = "BAD_URL"
    PRIVATE_ADDRESS = "PRIVATE_ADDRESS"
    UNREACHABLE = "UNREACHABLE"
    TIMED_OUT = "TIMED_OUT"
    TOO_LARGE = "TOO_LARGE"
    TOO_MANY_REDIRECTS = "TOO_MANY_REDIRECTS"
    REDIRECT_LOOP = "REDIRECT_LOOP"
    HTTP_STATUS = "HTTP_STATUS"
    BAD_RESPONSE = "BAD_RESPONSE"
    NOT_MEDIA = "NOT_MEDIA"


class MediaFetchError(Exception):
    """A URL could not be fetched as media; `reason` says why, for people."""

    def __init__(self, url: str, problem: FetchProblem, reason: str):
        super().__init__(reason)
        self.url = url
        self.problem = problem
        self.reason = reason

    def copy(self) -> MediaFetchError:
        return MediaFetchError(self.url, self.problem, self.reason)


@dataclass(frozen=True)
class FetchedMedia:
    url: str  # as asked for
    final_url: str  # after redirects
    content: bytes
    mime: str  # sniffed from the bytes
    kind: MediaKind
    sha256: str  # hex digest of `content`

    @property
    def size(self) -> int:
        return len(self.content)


def require_kind(media: FetchedMedia, kinds: Collection[MediaKind]) -> FetchedMedia:
    """`media`, or a NOT_MEDIA error when its sniffed kind is not one of `kinds`."""
    if media.kind in kinds:
        return media
    wanted = " or ".join(sorted(kind.lower() for kind in kinds)) or "anything fetchable"
    article = "an" if wanted[0] in "aeiou" else "a"
    raise MediaFetchError(
        media.url,
        FetchProblem.NOT_MEDIA,
        f"not {article} {wanted}: the body is {media.mime} (sniffed from its bytes)",
    )


# --- the time limit of a whole fetch -------------------------------------------------------


class _Deadline:
    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds

    def clamp(self, timeout: float | None, error: type[Exception]) -> float:
        """`timeout` shortened to the time left, or `error` when none is left."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise error("the time limit of the fetch is used up")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """Every read, write and TLS handshake waits at most until the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline):
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout=None):
        timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, timeout), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """Wraps the guarded backend: connections are its, bounded by the deadline."""

    def __init__(self, inner: GuardedBackend, deadline: _Deadline):
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, path: str, timeout=None, socket_options=None):
        raise httpcore.ConnectError("Unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# --- the fetcher ---------------------------------------------------------------------------


class MediaFetcher:
    """Fetches media with fixed limits. Unset limits come from the settings.

    `backend` is for tests that need a connection translated after the check (it must be a
    `GuardedBackend`, so the address policy always applies); otherwise one is built from
    `resolver` and `allow_private` (None: COOP_FETCH_ALLOW_PRIVATE).
    """

    def __init__(
        self,
        *,
        max_bytes: int | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        allow_private: bool | None = None,
        resolver: Resolver = system_resolver,
        backend: GuardedBackend | None = None,
    ):
        if backend is not None and not isinstance(backend, GuardedBackend):
            raise TypeError("the media fetcher connects only through a GuardedBackend")
        self.max_bytes = settings.COOP_MEDIA_MAX_BYTES if max_bytes is None else max_bytes
        self.timeout = settings.COOP_MEDIA_TIMEOUT if timeout is None else timeout
        self.connect_timeout = (
            settings.COOP_MEDIA_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        )
        self.backend = backend or GuardedBackend(resolver, allow_private)

    def fetch(self, url: str, kinds: Collection[MediaKind] = MEDIA_KINDS) -> FetchedMedia:
        """The media at `url`, which must sniff as one of `kinds`; or MediaFetchError."""
        return require_kind(self.download(url), kinds)

    def download(self, url: str) -> FetchedMedia:
        """The body at `url`, whatever it is (`kind` may be OTHER); or MediaFetchError."""
        deadline = _Deadline(self.timeout)
        transport = backend_transport(_DeadlineBackend(self.backend, deadline))
        timeout = httpx.Timeout(self.timeout, connect=self.connect_timeout)
        client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=timeout,
            headers=HEADERS,
        )
        with client:
            try:
                return self._follow(client, url)
            except httpx.TimeoutException as exc:
                raise self._error(url, FetchProblem.TIMED_OUT, self._timeout_reason(exc)) from exc
            except httpx.TransportError as exc:
                raise self._transport_error(url, exc) from exc
            except httpx.InvalidURL as exc:
                raise self._error(url, FetchProblem.BAD_URL, f"not a valid URL: {exc}") from exc

    def _follow(self, client: httpx.Client, url: str) -> FetchedMedia:
        target = _checked_url(url, url)
        seen = [target]
        for hop in range(MAX_REDIRECTS + 1):
            client.cookies.clear()  # nothing a server sets travels to the next hop
            with client.stream("GET", target) as response:
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    target = self._next_hop(url, target, response, seen, hop)
                    seen.append(target)
                    _drain(response)
                    continue
                if not 200 <= status < 300:
                    raise self._error(
                        url, FetchProblem.HTTP_STATUS, f"HTTP {status} from {target.host}"
                    )
                content = self._read(url, response)
            found = sniff(content)
            return FetchedMedia(
                url=url,
                final_url=str(target),
                content=content,
                mime=found.mime,
                kind=found.kind,
                sha256=hashlib.sha256(content).hexdigest(),
            )
        raise AssertionError("unreachable: the last hop returns or raises")

    def _next_hop(
        self,
        url: str,
        current: httpx.URL,
        response: httpx.Response,
        seen: list[httpx.URL],
        hop: int,
    ) -> httpx.URL:
        location = response.headers.get("location")
        if not location:
            raise self._error(
                url,
                FetchProblem.BAD_RESPONSE,
                f"HTTP {response.status_code} redirect without a Location from {current.host}",
            )
        try:
            following = current.join(location).copy_with(fragment=None)
        except httpx.InvalidURL as exc:
            raise self._error(
                url, FetchProblem.BAD_URL, f"redirected to an invalid URL {location!r}"
            ) from exc
        following = _checked_url(url, str(following))
        if following in seen:
            raise self._error(
                url, FetchProblem.REDIRECT_LOOP, f"redirect loop: {following} was already visited"
            )
        if hop == MAX_REDIRECTS:
            raise self._error(
                url,
                FetchProblem.TOO_MANY_REDIRECTS,
                f"more than {MAX_REDIRECTS} redirects (the next was to {following})",
            )
        return following

    def _read(self, url: str, response: httpx.Response) -> bytes:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise self._error(
                url,
                FetchProblem.BAD_RESPONSE,
                f"the server sent an encoded body (Content-Encoding: {encoding}), "
                "which Coop does not decode",
            )
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._error(url, FetchProblem.TOO_LARGE, self._too_large(f"{declared} bytes"))
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_raw():
            total += len(chunk)
            if total > self.max_bytes:
                raise self._error(url, FetchProblem.TOO_LARGE, self._too_large("more"))
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, size: str) -> str:
        return f"too large: {size}, the limit is {self.max_bytes} bytes (COOP_MEDIA_MAX_BYTES)"

    def _timeout_reason(self, exc: Exception) -> str:
        if isinstance(exc, httpx.ConnectTimeout) and "time limit" not in str(exc):
            return f"timed out connecting (limit {self.connect_timeout:g} s)"
        return f"timed out: the fetch took longer than {self.timeout:g} s (COOP_MEDIA_TIMEOUT)"

    def _transport_error(self, url: str, exc: httpx.TransportError) -> MediaFetchError:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, AddressRefusedError):
                return self._error(url, FetchProblem.PRIVATE_ADDRESS, str(cause))
            cause = cause.__cause__ or cause.__context__
        return self._error(url, FetchProblem.UNREACHABLE, f"could not fetch: {exc}")

    @staticmethod
    def _error(url: str, problem: FetchProblem, reason: str) -> MediaFetchError:
        return MediaFetchError(url, problem, reason)


def _drain(response: httpx.Response) -> None:
    """Read a short redirect body so its connection can carry the next hop; a long one is
    left unread (closing the response closes that connection)."""
    received = 0
    for chunk in response.iter_raw():
        received += len(chunk)
        if received > REDIRECT_BODY_BYTES:
            return


def _checked_url(url: str, candidate: str) -> httpx.URL:
    """`candidate` as an http(s) URL with a host and no credentials, or BAD_URL."""
    try:
        parsed = httpx.URL(candidate)
    except (httpx.InvalidURL, TypeError) as exc:
        raise MediaFetchError(url, FetchProblem.BAD_URL, f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise MediaFetchError(
            url,
            FetchProblem.BAD_URL,
            f"only http and https URLs are fetched, not {parsed.scheme or 'a relative'} URL "
            f"{candidate!r}",
        )
    if not parsed.host:
        raise MediaFetchError(url, FetchProblem.BAD_URL, f"the URL {candidate!r} has no host")
    if parsed.userinfo:
        raise MediaFetchError(
            url, FetchProblem.BAD_URL, "URLs with a user name or password are not fetched"
        )
    return parsed.copy_with(fragment=None)


def fetch_media(
    url: str, kinds: Collection[MediaKind] = MEDIA_KINDS, **options: Any
) -> FetchedMedia:
    """One fetch with `MediaFetcher(**options)`; see `FetchCache` to fetch a URL once a batch."""
    return MediaFetcher(**options).fetch(url, kinds)


# --- one evaluation batch ------------------------------------------------------------------


class FetchCache:
    """Fetch results of one evaluation batch, per URL: each URL is fetched once, and a failure
    is remembered too, so a bad URL is not retried within the batch.

    Bounded: bodies held together stay under `max_total_bytes` (COOP_MEDIA_CACHE_BYTES; the
    least recently used are dropped first, and a body larger than the whole budget is returned
    but not kept) and at most `MAX_CACHE_ENTRIES` results are kept. Safe to share between
    threads: concurrent fetches of one URL wait for the first.
    """

    def __init__(self, fetcher: MediaFetcher | None = None, max_total_bytes: int | None = None):
        self.fetcher = fetcher or MediaFetcher()
        self.max_total_bytes = (
            settings.COOP_MEDIA_CACHE_BYTES if max_total_bytes is None else max_total_bytes
        )
        self._entries: OrderedDict[str, FetchedMedia | MediaFetchError] = OrderedDict()
        self._url_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.total_bytes = 0

    def __enter__(self) -> FetchCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def fetch(self, url: str, kinds: Collection[MediaKind] = MEDIA_KINDS) -> FetchedMedia:
        """Like `MediaFetcher.fetch`, from the cache when this batch already fetched `url`."""
        return require_kind(self.download(url), kinds)

    def download(self, url: str) -> FetchedMedia:
        with self._lock:
            url_lock = self._url_locks.setdefault(url, threading.Lock())
        with url_lock:
            found = self._get(url)
            if found is None:
                try:
                    found = self.fetcher.download(url)
                except MediaFetchError as exc:
                    found = exc
                self._put(url, found)
        if isinstance(found, MediaFetchError):
            raise found.copy()
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._url_locks.clear()
            self.total_bytes = 0

    def _get(self, url: str) -> FetchedMedia | MediaFetchError | None:
        with self._lock:
            found = self._entries.get(url)
            if found is not None:
                self._entries.move_to_end(url)
            return found

    def _put(self, url: str, result: FetchedMedia | MediaFetchError) -> None:
        size = result.size if isinstance(result, FetchedMedia) else 0
        if size > self.max_total_bytes:
            return
        with self._lock:
            while self._entries and (
                self.total_bytes + size > self.max_total_bytes
                or len(self._entries) >= MAX_CACHE_ENTRIES
            ):
                _, dropped = self._entries.popitem(last=False)
                if isinstance(dropped, FetchedMedia):
                    self.total_bytes -= dropped.size
            self._entries[url] = result
            self.total_bytes += size


def fetch_batch(max_total_bytes: int | None = None, **options: Any) -> FetchCache:
    """A `FetchCache` for one batch, to use as `with fetch_batch() as media: media.fetch(url)`;
    `options` are `MediaFetcher`'s."""
    return FetchCache(MediaFetcher(**options), max_total_bytes)
