"""A local media host: a real HTTP server on 127.0.0.1 in a thread, with scripted routes.

Each route is a function given the request handler; helpers below build the usual ones. Every
request is recorded (path and headers) so tests can count what reached the server.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[["Handler"], None]


@dataclass
class Hit:
    path: str
    headers: dict[str, str]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self):
        host = self.server.owner
        path = self.path.split("?", 1)[0]
        with host.lock:
            host.hits.append(Hit(path, {k.lower(): v for k, v in self.headers.items()}))
        route = host.routes.get(path)
        if route is None:
            reply(self, 404, b"not found", "text/plain")
            return
        with contextlib.suppress(OSError):
            route(self)

    def log_message(self, format, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: MediaHost

    def handle_error(self, request, client_address):
        # The fetcher hangs up on bodies it refuses: a reset connection is expected, not news.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class MediaHost:
    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # set at teardown: held handlers finish
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll so that shutdown() at teardown returns quickly.
        serve = self._server.serve_forever
        self._thread = threading.Thread(target=serve, args=(0.05,), daemon=True)

    def __enter__(self) -> MediaHost:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def hits_of(self, path: str) -> int:
        with self.lock:
            return sum(1 for hit in self.hits if hit.path == path)


# --- routes ---------------------------------------------------------------------------------


def reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    if content_type:
        handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def serve(body: bytes, content_type: str | None = "application/octet-stream", **headers) -> Route:
    return lambda handler: reply(handler, 200, body, content_type, headers)


def status(code: int) -> Route:
    return lambda handler: reply(handler, code, b"nope", "text/plain")


def redirect(location: str, code: int = 302, close: bool = False, **extra: str) -> Route:
    """A redirect; `close` ends the connection, so the next hop needs a new one."""

    def route(handler: Handler) -> None:
        headers = {"Location": location, **extra}
        if close:
            headers["Connection"] = "close"
            handler.close_connection = True
        reply(handler, code, b"", None, headers)

    return route


def unbounded(chunk: bytes, finished: threading.Event, completed: list[bool], total: int) -> Route:
    """`total` bytes without a Content-Length (delimited by closing the connection), written
    as fast as the client reads. `completed` records whether all of them were written."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        written = 0
        try:
            while written < total:
                handler.wfile.write(chunk)
                written += len(chunk)
            completed.append(True)
        except OSError:
            completed.append(False)
        finally:
            finished.set()

    return route


def headers_then_hold(declared: int, first: bytes = b"") -> Route:
    """Sends the headers (declaring `declared` bytes) and `first`, then waits for teardown."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(first)
        handler.wfile.flush()
        handler.server.owner.release.wait(30)

    return route


def dribble(body: bytes, every: float) -> Route:
    """`body` one byte at a time, a byte every `every` seconds: each read is quick, the whole
    is slow (the server's pace is the scenario, not synchronisation)."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        release = handler.server.owner.release
        for byte in _bytes(body):
            handler.wfile.write(byte)
            handler.wfile.flush()
            if release.wait(every):
                return

    return route


def _bytes(body: bytes) -> Iterator[bytes]:
    for index in range(len(body)):
        yield body[index : index + 1]
