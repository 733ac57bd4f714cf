"""Fixtures of the media fetcher tests: a local media host and a wire under the guard."""

from __future__ import annotations

import httpcore
import pytest

from coop.outbound import GuardedBackend, Resolver
from media.server import MediaHost

# Stand-ins for public addresses: they pass the address policy, and the wire below the guard
# takes a connection to them to the local server instead (a NAT), so nothing leaves 127.0.0.1.
PUBLIC = "8.8.8.8"
OTHER_PUBLIC = "1.1.1.1"
TRANSLATED = {PUBLIC, OTHER_PUBLIC}


@pytest.fixture
def host():
    with MediaHost() as server:
        yield server


class _Wire(httpcore.SyncBackend):
    """What the guard connects through: records each address it is asked to connect to."""

    connected: list[str]

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connected.append(host)
        address = "127.0.0.1" if host in TRANSLATED else host
        return super().connect_tcp(address, port, timeout, local_address, socket_options)


class WiredBackend(GuardedBackend, _Wire):
    """The real GuardedBackend (resolve once, check, connect to the checked address) over a
    wire that records the connected addresses and translates the public stand-ins."""

    def __init__(self, resolver: Resolver, allow_private: bool):
        super().__init__(resolver, allow_private)
        self.connected = []


class Resolutions:
    """A resolver answering from a script, one answer per lookup (the last one repeats), and
    recording every lookup: a rebinding DNS server."""

    def __init__(self, *answers: list[str]):
        self.answers = list(answers)
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]
