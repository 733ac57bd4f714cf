"""The embedded database and `coop serve` as an operator sees them: real processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from coop.bench.harness import free_port
from processes import wait_for_health, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _no_server_left_behind(tmp_path):
    """When a test fails, the PostgreSQL it left running (the bug) does not outlive it."""
    yield
    for process in psutil.process_iter(["cmdline"]):
        if str(tmp_path) in " ".join(process.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                process.terminate()


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


def _cmdline(process: psutil.Process) -> list[str]:
    """A child's command line; empty for one that just exited (a zombie until reaped)."""
    try:
        return process.cmdline()
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return []


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _group(pgid: int) -> list[psutil.Process]:
    """The live processes of a process group."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and _alive(process):
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def _start_serve(data_dir) -> tuple[subprocess.Popen, str]:
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "coop", "serve", "--port", str(port)],
        env=_env(data_dir),
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as in a terminal
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_for_health(base_url, serve)
    return serve, base_url


def test_serve_restarted_after_kill_9_stops_the_server_it_inherited(tmp_path):
    """kill -9 of serve and its children leaves PostgreSQL running; a new serve on the same
    data directory uses that server and, being its last user, stops it on SIGTERM."""
    pgdata = tmp_path / "pg"
    first, _ = _start_serve(tmp_path)
    second = None
    try:
        postmaster = psutil.Process(_postmaster_pid(pgdata))
        postgres = [postmaster, *postmaster.children(recursive=True)]
        crashed = [p for p in _group(first.pid) if p not in postgres]
        assert first.pid in [p.pid for p in crashed]
        assert len(crashed) >= 3  # serve, web, worker
        for process in crashed:
            process.kill()
        first.wait(timeout=30)
        wait_until(
            lambda: not any(_alive(p) for p in crashed), 30, "crashed processes still running"
        )
        assert _alive(postmaster), "the scenario needs the first run's server left running"

        second, _ = _start_serve(tmp_path)
        assert _postmaster_pid(pgdata) == postmaster.pid  # it joined the running server
        second_group = _group(second.pid)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    finally:
        for serve in (first, second):
            if serve is not None and serve.poll() is None:
                os.killpg(serve.pid, signal.SIGKILL)
    wait_until(
        lambda: not any(_alive(p) for p in postgres),
        30,
        "PostgreSQL from the first run was left running",
    )
    wait_until(lambda: not any(_alive(p) for p in second_group), 30, "a process of serve was left")
    assert _postmaster_pid(pgdata) is None
    assert not [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if str(pgdata) in " ".join(p.info["cmdline"] or []) and _alive(p)
    ], "a process still uses the data directory"


def test_users_that_died_are_forgotten_and_reused_pids_are_not_taken_for_them(tmp_path):
    from coop import embedded

    (tmp_path / "PG_VERSION").write_text("18\n")
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_until(lambda: psutil.Process(zombie.pid).status() == psutil.STATUS_ZOMBIE, 30, "no zombie")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    me = psutil.Process()
    parent = psutil.Process(os.getppid())
    pids = [me.pid, parent.pid, zombie.pid, gone.pid]
    (tmp_path / embedded.HANDLES_FILE).write_text(json.dumps(pids))
    starts = {str(me.pid): me.create_time(), str(parent.pid): parent.create_time() - 3600}
    (tmp_path / embedded.STARTS_FILE).write_text(json.dumps(starts))
    try:
        # the parent's recorded start is an hour older than the process: its pid was reused
        assert sorted(embedded.forget_dead_users(tmp_path)) == sorted(pids[1:])
    finally:
        zombie.wait()
    assert json.loads((tmp_path / embedded.HANDLES_FILE).read_text()) == [me.pid]
    assert json.loads((tmp_path / embedded.STARTS_FILE).read_text()) == {
        str(me.pid): me.create_time()
    }


def test_serve_stopped_while_it_prepares_stops_the_server_too(tmp_path):
    """SIGTERM during the migrations: the preparing child is stopped, then the server."""
    serve = subprocess.Popen(
        [sys.executable, "-m", "coop", "serve", "--port", str(free_port())],
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def preparing() -> bool:
            assert serve.poll() is None, "serve exited"
            return any("--prepare" in _cmdline(c) for c in psutil.Process(serve.pid).children())

        wait_until(preparing, 60, "serve never started preparing")
        postmaster = psutil.Process(_postmaster_pid(tmp_path / "pg"))
        group = _group(serve.pid)
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
    wait_until(lambda: not _alive(postmaster), 30, "PostgreSQL was left running")
    wait_until(lambda: not any(_alive(p) for p in group), 30, "a process of serve was left")
