"""`coop bench memory`: resident memory of an idle `coop serve`.

Starts `coop serve` on a fresh data directory of its own (so with its own embedded
PostgreSQL, whatever DATABASE_URL says), waits until the web server answers and the worker
runs, lets it settle and sit idle, and samples the RSS of each process for the measured
duration: the supervising `serve` process, `coop web` (with its uvicorn worker processes, if
any), `coop worker`, and the PostgreSQL server's processes, reported separately. Each figure
is the largest sample. Then it stops serve with SIGTERM and checks nothing was left running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from coop.bench.harness import Result, free_port

MB = 1024 * 1024
SETTLE_SECONDS = 3.0  # after start-up: the first periodic tasks, lazy imports, caches
SAMPLE_EVERY = 0.5


def run(seconds: float = 20.0) -> Result:
    data_dir = Path(tempfile.mkdtemp(prefix="coop-bench-memory-"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["COOP_DATA_DIR"] = str(data_dir)
    port = free_port()
    serve = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "coop", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        web, worker = _wait_until_ready(serve, f"http://127.0.0.1:{port}")
        postmaster = psutil.Process(_postmaster_pid(data_dir / "pg"))
        time.sleep(SETTLE_SECONDS)
        peaks = {"serve": 0, "web": 0, "worker": 0, "postgres": 0}
        groups = {
            "serve": lambda: [psutil.Process(serve.pid)],
            "web": lambda: _tree(web),
            "worker": lambda: _tree(worker),
            "postgres": lambda: _tree(postmaster),
        }
        stop_at = time.monotonic() + max(seconds, SAMPLE_EVERY)
        samples = 0
        while time.monotonic() < stop_at:
            for name, processes in groups.items():
                peaks[name] = max(peaks[name], _rss(processes()))
            samples += 1
            time.sleep(SAMPLE_EVERY)
        postgres_processes = len(_tree(postmaster))
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
        left = _left_running([serve.pid, web.pid, worker.pid, postmaster.pid])
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
    coop_mb = (peaks["serve"] + peaks["web"] + peaks["worker"]) / MB
    return Result(
        scenario="memory",
        metrics={
            "serve_mb": peaks["serve"] / MB,
            "web_mb": peaks["web"] / MB,
            "worker_mb": peaks["worker"] / MB,
            "web_worker_mb": (peaks["web"] + peaks["worker"]) / MB,
            "coop_mb": coop_mb,
            "postgres_mb": peaks["postgres"] / MB,
            "postgres_processes": postgres_processes,
            "samples": samples,
            "left_running": left,
        },
        # Every Coop process of `coop serve`, the supervisor included; PostgreSQL excluded.
        targets={"coop_mb": "< 300", "left_running": "< 1"},
    )


def _wait_until_ready(
    serve: subprocess.Popen, base_url: str
) -> tuple[psutil.Process, psutil.Process]:
    """The web and worker processes, once /api/v1/health answers and the worker runs."""
    deadline = time.monotonic() + 120
    while True:
        if serve.poll() is not None:
            raise RuntimeError(f"coop serve exited with {serve.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("coop serve did not become ready")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200:
                children = _commands(psutil.Process(serve.pid))
                if "web" in children and "worker" in children:
                    return children["web"], children["worker"]
        time.sleep(0.2)


def _commands(serve: psutil.Process) -> dict[str, psutil.Process]:
    """serve's direct children by their `coop` command (`python -m coop web ...`)."""
    found = {}
    for child in serve.children():
        with contextlib.suppress(psutil.Error):
            cmdline = child.cmdline()
            if "coop" in cmdline:
                after = cmdline[cmdline.index("coop") + 1 :]
                if after:
                    found[after[0]] = child
    return found


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total


def _postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def _left_running(pids: list[int]) -> int:
    """How many of these processes are still alive shortly after serve exited."""
    deadline = time.monotonic() + 30
    while True:
        alive = 0
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive += 1
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)
