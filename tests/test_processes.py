"""The embedded database and `coop serve` as an operator sees them: real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from coop.bench.harness import free_port

pytestmark = pytest.mark.slow


def _env(data_dir, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**env, "COOP_DATA_DIR": str(data_dir), **extra}


def _postmaster_pid(pgdata) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().splitlines()[0])
    return pid if psutil.pid_exists(pid) else None


def test_embedded_server_is_shared_and_stopped_by_the_last_user(tmp_path):
    """Two processes share one server; it stops only when the last one exits."""
    script = (
        "import sys, time; from pathlib import Path; from coop import embedded;"
        "print(embedded.start(Path(sys.argv[1])), flush=True); time.sleep(float(sys.argv[2]))"
    )
    pgdata = tmp_path / "pg"
    first = subprocess.Popen(
        [sys.executable, "-c", script, str(pgdata), "6"], stdout=subprocess.PIPE, text=True
    )
    second = subprocess.Popen(
        [sys.executable, "-c", script, str(pgdata), "1"], stdout=subprocess.PIPE, text=True
    )
    first_url = first.stdout.readline().strip()
    second_url = second.stdout.readline().strip()
    assert first_url == second_url
    assert second.wait(timeout=30) == 0
    assert _postmaster_pid(pgdata) is not None, "stopped while another process still used it"
    assert first.wait(timeout=30) == 0
    assert _postmaster_pid(pgdata) is None, "left running after the last user exited"


def test_serve_runs_everything_and_stops_cleanly(tmp_path):
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "coop", "serve", "--port", str(port)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first_admin = serve.stdout.readline()
        assert "admin@example.com" in first_admin
        lines = [serve.stdout.readline() for _ in range(2)]
        assert any(f"http://127.0.0.1:{port}/" in line for line in lines)
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "web server did not answer"
            time.sleep(0.3)
        assert response.json() == {"status": "ok"}
        children = psutil.Process(serve.pid).children(recursive=True)
        assert len(children) >= 2  # web and worker
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0
    assert not any(child.is_running() and child.status() != "zombie" for child in children)
    assert _postmaster_pid(tmp_path / "pg") is None
