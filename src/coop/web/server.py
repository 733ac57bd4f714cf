"""The ASGI server's HTTP protocol, tuned for the platform API."""

from __future__ import annotations

import contextlib
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class NoDelayHttpProtocol(HttpToolsProtocol):
    """Sets TCP_NODELAY on every accepted connection.

    With several worker processes uvicorn shares one listening socket, and asyncio then skips
    TCP_NODELAY on accepted connections: each keep-alive response waited ~40 ms for a delayed
    ACK (bench/README.md, ingest).
    """

    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
