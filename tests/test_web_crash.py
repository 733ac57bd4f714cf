"""Crash safety of the web process (quality.md): `coop web` killed with -9 while platforms are
posting items loses nothing it acknowledged and leaves nothing half-written. Real `coop web`
and `coop worker` processes on the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass

import httpx
import pytest
from django.db import connection

from coop.accounts.services import create_api_key
from coop.bench.harness import free_port
from coop.ingest.models import ItemSubmission
from processes import database_url_for_tests, start_worker, stop, wait_for_health, wait_until
from rules.test_engine import CONFIG, apply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CLIENTS = 8  # platform threads posting at once
ITEMS_PER_REQUEST = 10
MAX_REQUESTS_PER_CLIENT = 100  # bounds the load even if the kill never came
ACKNOWLEDGED_BEFORE_KILL = 20


@dataclass
class Sent:
    item_ids: list[str]
    status: int | None = None  # None: no answer (connection refused, reset, cut)


def start_web(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "COOP_RATE_LIMIT_PER_MINUTE": "1000000",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "coop", "web", "--port", str(port)],
        env=env,
        start_new_session=True,
    )


def batch(name: str) -> dict:
    return {
        "items": [
            {"id": f"{name}-{i}", "typeId": "post", "data": {"text": f"hello {i}"}}
            for i in range(ITEMS_PER_REQUEST)
        ]
    }


def evaluation_task_ids() -> set[int]:
    """The submissions that have an evaluation task waiting."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (jsonb_array_elements_text(args->'submission_ids'))::bigint"
            " FROM procrastinate_jobs WHERE task_name = 'coop.evaluate_submissions'"
        )
        return {row[0] for row in cursor.fetchall()}


def assert_all_or_nothing(sent: list[Sent]) -> None:
    """Every acknowledged request was stored whole with its evaluation task; every unanswered
    one was stored whole or not at all."""
    statuses = {record.status for record in sent}
    assert statuses <= {202, None}, statuses
    unanswered = [record for record in sent if record.status is None]
    assert unanswered, "no request was in flight at the kill"
    stored = dict(ItemSubmission.objects.values_list("item_id", "pk"))
    tasks = evaluation_task_ids()
    for record in sent:
        present = [item_id for item_id in record.item_ids if item_id in stored]
        if record.status == 202:
            assert present == record.item_ids, "an acknowledged request lost items"
        else:
            assert present in ([], record.item_ids), f"half-written request: {present}"
    assert set(stored.values()) <= tasks, "a stored item has no evaluation task"
    acknowledged_ids = [stored[i] for r in sent if r.status == 202 for i in r.item_ids]
    assert len(acknowledged_ids) >= ACKNOWLEDGED_BEFORE_KILL * ITEMS_PER_REQUEST


def test_web_killed_under_load_loses_nothing_acknowledged_and_half_writes_nothing():
    apply(CONFIG)
    _, key = create_api_key(name="web-crash")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    web = start_web(port)
    restarted = None
    sent: list[Sent] = []
    lock = threading.Lock()
    killed = threading.Event()
    acknowledged = threading.Semaphore(0)
    failures: list[Exception] = []  # transport errors before the kill

    def platform(client_no: int) -> None:
        with httpx.Client(base_url=base_url, headers={"X-API-KEY": key}, timeout=30) as client:
            for n in range(MAX_REQUESTS_PER_CLIENT):
                body = batch(f"c{client_no}r{n}")
                record = Sent([item["id"] for item in body["items"]])
                with lock:
                    sent.append(record)
                try:
                    record.status = client.post("/api/v1/items/async/", json=body).status_code
                except httpx.TransportError as error:
                    if not killed.is_set():
                        failures.append(error)
                    return
                if record.status == 202:
                    acknowledged.release()

    try:
        wait_for_health(base_url, web)
        clients = [threading.Thread(target=platform, args=(n,)) for n in range(CLIENTS)]
        for thread in clients:
            thread.start()
        for _ in range(ACKNOWLEDGED_BEFORE_KILL):
            assert acknowledged.acquire(timeout=60), "the web server acknowledged too little"
        # One upload is certainly in flight: its body is half sent.
        half = httpx.Request(
            "POST",
            f"{base_url}/api/v1/items/async/",
            json=batch("half"),
            headers={"X-API-KEY": key},
        )
        raw = bytes(half.read())
        head = (
            f"POST /api/v1/items/async/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"X-API-KEY: {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(raw)}\r\n\r\n"
        ).encode()
        upload = socket.create_connection(("127.0.0.1", port), timeout=30)
        upload.sendall(head + raw[: len(raw) // 2])
        with lock:
            sent.append(Sent([f"half-{i}" for i in range(ITEMS_PER_REQUEST)]))

        killed.set()
        os.killpg(web.pid, signal.SIGKILL)
        web.wait(10)
        for thread in clients:
            thread.join(60)
            assert not thread.is_alive(), "a platform thread hung"
        upload.close()
    finally:
        killed.set()
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()

    assert not failures, failures
    assert_all_or_nothing(sent)

    worker = start_worker()
    try:
        wait_until(
            lambda: not ItemSubmission.objects.filter(evaluated_at__isnull=True).exists(),
            60,
            "the stored items were not all evaluated",
        )
        # A restarted web server serves again, on the same port.
        restarted = start_web(port)
        wait_for_health(base_url, restarted)
        response = httpx.post(
            f"{base_url}/api/v1/items/async/",
            json=batch("after"),
            headers={"X-API-KEY": key},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        wait_until(
            lambda: (
                ItemSubmission.objects.filter(
                    item_id__startswith="after-", evaluated_at__isnull=False
                ).count()
                == ITEMS_PER_REQUEST
            ),
            60,
            "the items posted after the restart were not evaluated",
        )
    finally:
        stop(worker)
        if restarted is not None:
            stop(restarted)
    assert worker.returncode == 0
    assert restarted.returncode == 0
