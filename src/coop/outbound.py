"""Outgoing HTTP to addresses that came from configuration or item data (quality.md, SSRF).

Action callbacks, appeal and ignore callbacks, partial items and HTTP signals all go through
`guarded_client()`: its connections resolve the host once, refuse loopback, private,
link-local, multicast, CGNAT, reserved and cloud-metadata addresses (unless
COOP_FETCH_ALLOW_PRIVATE=1, for development and tests), and connect to the very address that
was checked, so a DNS answer that changes between the check and the connection (rebinding)
cannot redirect the request. TLS still verifies the certificate against the URL's host name.

Header names and values a configuration author writes are checked by `header_problem`, at
save time by the configuration schema and again before sending.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx
from django.conf import settings

Resolver = Callable[[str, int], list[str]]

# Only these environment variables may be named by `!secret NAME` / {"secret": NAME}, so a
# configuration author cannot have Coop send COOP_SECRET_KEY or DATABASE_URL to their server.
# (Not "COOP_SECRET_": that would admit COOP_SECRET_KEY itself.)
SECRET_PREFIX = "SECRET_"  # noqa: S105 - a name prefix, not a secret
# RFC 9110 token characters; values may hold visible ASCII, spaces and tabs, never CR or LF.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VALUE = re.compile(r"^[\t\x20-\x7e\x80-\xff]*$")
RESERVED_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding"})
RESERVED_PREFIX = "coop-"  # Coop-Signature, Coop-Delivery-Id, Coop-Event are Coop's own


class AddressRefusedError(httpcore.ConnectError):
    """The host resolves only to addresses Coop must not call."""


def header_problem(name: str, value: str | None = None) -> str | None:
    """Why a configured header cannot be sent, or None when it can."""
    if not _TOKEN.match(name):
        return "is not a valid header name"
    lowered = name.lower()
    if lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_PREFIX):
        return "is set by Coop and cannot be configured"
    if value is not None and not _VALUE.match(value):
        return "has a value with a line break or a control character"
    return None


def secret_problem(variable: str) -> str | None:
    """Why `variable` cannot be used as a secret header value, or None."""
    if not variable.startswith(SECRET_PREFIX) or variable == SECRET_PREFIX:
        return f"secrets must be environment variables named {SECRET_PREFIX}…"
    return None


def is_public(address: str) -> bool:
    """Whether `address` is a globally routable unicast address (IPv4-mapped IPv6 unwrapped)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(host: str, port: int, resolver: Resolver, allow_private: bool) -> list[str]:
    """The addresses of `host` that may be called, in resolver order; refused if none."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        addresses = [host.strip("[]")]
    except ValueError:
        try:
            addresses = resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    allowed = [a for a in addresses if allow_private or is_public(a)]
    if not allowed:
        raise AddressRefusedError(
            f"{host} resolves to {', '.join(addresses) or 'nothing'}: a private, loopback, "
            "link-local or reserved address, which Coop does not call "
            "(COOP_FETCH_ALLOW_PRIVATE=1 allows it for development)"
        )
    return allowed


class GuardedBackend(httpcore.SyncBackend):
    """Resolves once, checks, and connects to the checked address."""

    def __init__(self, resolver: Resolver = system_resolver, allow_private: bool | None = None):
        self.resolver = resolver
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        allow = (
            settings.COOP_FETCH_ALLOW_PRIVATE if self.allow_private is None else self.allow_private
        )
        last: Exception | None = None
        for address in checked_addresses(host, port, self.resolver, allow):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every outgoing connection: building one reads the CA bundle, which
    took about half of each media fetch when every fetch built two."""
    return httpx.create_ssl_context(trust_env=False)


def backend_transport(backend: httpcore.NetworkBackend) -> httpx.HTTPTransport:
    """An httpx transport whose connections are all made by `backend` (a `GuardedBackend`, or
    a wrapper around one such as coop.media's deadline)."""
    transport = httpx.HTTPTransport(verify=_ssl_context(), trust_env=False)
    # httpx does not take a network backend; its transport wraps this httpcore pool (pinned
    # httpx < 1), built here the way HTTPTransport builds it, with the given backend.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=backend,
    )
    return transport


def guarded_transport(
    resolver: Resolver = system_resolver, allow_private: bool | None = None
) -> httpx.HTTPTransport:
    return backend_transport(GuardedBackend(resolver, allow_private))


def guarded_client(
    resolver: Resolver = system_resolver, allow_private: bool | None = None
) -> httpx.Client:
    """A client for URLs from configuration or item data. It never follows redirects."""
    return httpx.Client(
        transport=guarded_transport(resolver, allow_private),
        follow_redirects=False,
        trust_env=False,
    )
