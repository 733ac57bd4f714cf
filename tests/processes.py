"""Helpers of the tests that run real `coop` processes: start, stop, wait for a condition."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
from django.db import connection
from psycopg.conninfo import make_conninfo

# A worker that recovers quickly: housekeeping every second, workers silent for 2 s are dead.
FAST_RECOVERY = {
    "COOP_HOUSEKEEPING_SECONDS": "1",
    "COOP_WORKER_HEARTBEAT_SECONDS": "0.5",
    "COOP_STALLED_WORKER_SECONDS": "2",
}


def database_url_for_tests() -> str:
    """The test database (not the server's default one), for child processes."""
    return make_conninfo(os.environ["DATABASE_URL"], dbname=connection.settings_dict["NAME"])


def start_worker(database_url: str | None = None, **settings: str) -> subprocess.Popen:
    """A real `coop worker` process (its own session, so that a kill reaches only it)."""
    env = {**os.environ, "DATABASE_URL": database_url or database_url_for_tests(), **settings}
    return subprocess.Popen(
        [sys.executable, "-m", "coop", "worker", "--concurrency", "1"],
        env=env,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM and wait (a coop process stops gracefully); SIGKILL if it does not."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until(condition, seconds: float, message: str) -> None:
    """Poll `condition` until it holds, failing after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def wait_for_health(base_url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    """Until `process` (coop web or serve) answers /api/v1/health; fails if it exits first."""

    def healthy() -> bool:
        assert process.poll() is None, f"exited with {process.returncode} before it answered"
        try:
            return httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, seconds, f"{base_url} did not answer")
