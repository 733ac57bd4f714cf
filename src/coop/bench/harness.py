"""Shared parts of the benchmark scenarios: a scratch database, a web server, results."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
from django.conf import settings
from psycopg.conninfo import conninfo_to_dict, make_conninfo

BENCH_DATABASE = f"coop_bench_{os.getpid()}"  # per run, so two benchmarks never collide
BENCH_KEY = "b" * 64


@dataclass
class Result:
    scenario: str
    metrics: dict[str, float] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        return all(_meets(self.metrics[name], target) for name, target in self.targets.items())

    def as_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "metrics": {k: round(v, 3) for k, v in self.metrics.items()},
            "targets": self.targets,
            "met": self.met,
            "machine": machine(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def _meets(value: float, target: str) -> bool:
    op, number = target.split()
    return value >= float(number) if op == ">=" else value < float(number)


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "database": "embedded PostgreSQL" if settings.EMBEDDED_DATABASE else "DATABASE_URL",
    }


def rss_mb() -> float:
    """Resident memory now (Linux), else the peak so far."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return pages * resource.getpagesize() / 2**20


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return 0.0
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh, migrated database on the same server as Coop's, dropped afterwards."""
    params = conninfo_to_dict(settings.DATABASE_URL)
    admin_url = make_conninfo(**{**params, "dbname": "postgres"})
    bench_url = make_conninfo(**{**params, "dbname": BENCH_DATABASE})
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    try:
        run_coop(["migrate", "--verbosity", "0"], bench_url)
        yield bench_url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def coop_env(database_url: str) -> dict[str, str]:
    # The scenarios' platform stand-ins (webhook receiver, image host) listen on 127.0.0.1.
    return {
        **os.environ,
        "DATABASE_URL": _as_url(database_url),
        "COOP_FETCH_ALLOW_PRIVATE": "1",
    }


def _as_url(conninfo: str) -> str:
    """settings.DATABASES is built from a URL; turn a key=value conninfo into one."""
    if conninfo.startswith("postgres"):
        return conninfo
    params = conninfo_to_dict(conninfo)
    from urllib.parse import quote

    host = quote(params.get("host", ""), safe="")
    port = params.get("port", "5432")
    user = params.get("user", "")
    password = params.get("password", "")
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    return f"postgresql://{auth}{host}:{port}/{params['dbname']}"


def run_coop(args: list[str], database_url: str) -> str:
    completed = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "coop", *args],
        env=coop_env(database_url),
        check=True,
        capture_output=True,
        text=True,
    )
    return completed.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def web_server(database_url: str, workers: int) -> Iterator[str]:
    """`coop web` in a child process; yields its base URL once /api/v1/health answers."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "coop", "web", "--port", str(port), "--workers", str(workers)],
        env=coop_env(database_url),
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("coop web did not start")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def insert_api_key(database_url: str) -> str:
    """A platform API key for the benchmark clients, written straight into the scratch DB."""
    from coop.accounts.services import hash_api_key

    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO accounts_apikey (id, name, key_hash, prefix, created_at)"
            " VALUES (gen_random_uuid(), 'bench', %s, %s, now())",
            (hash_api_key(BENCH_KEY), BENCH_KEY[:8]),
        )
    return BENCH_KEY


@contextlib.contextmanager
def worker(database_url: str, concurrency: int) -> Iterator[subprocess.Popen]:
    """`coop worker` in a child process."""
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "coop", "worker", "--concurrency", str(concurrency)],
        env=coop_env(database_url),
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass(frozen=True, slots=True)
class Received:
    delivery_id: str
    item_id: str
    at: float  # time.time()


class Receiver:
    """A platform's webhook endpoint on 127.0.0.1 that records what it receives (200 always)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                item_id = json.loads(body).get("item", {}).get("id", "")
                with receiver._lock:
                    receiver.received.append(
                        Received(self.headers.get("Coop-Delivery-Id", ""), item_id, time.time())
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)
