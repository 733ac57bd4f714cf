"""Graceful shutdown (quality.md): SIGTERM lets in-flight requests and tasks finish, then the
process exits. Real `coop web` and `coop worker` processes on the test database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
from django.db import connection, transaction

from coop.accounts.services import active_signing_key, create_api_key
from coop.bench.harness import free_port
from coop.bench.ingest import make_item
from coop.catalog.models import ItemType
from coop.enforcement.models import DeliveryEvent, DeliveryStatus
from coop.enforcement.services import create_delivery
from coop.ingest.models import ItemSubmission
from enforcement.receiver import Receiver, Reply
from processes import database_url_for_tests, wait_for_health, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _env() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url_for_tests()}


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length, read from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before the response ended: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, value in (line.split(":", 1) for line in header_lines)
    }
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the body ended"
        body += chunk
    return int(status_line.split()[1]), headers, body


def test_web_finishes_an_upload_in_flight_on_sigterm():
    """A platform is uploading a batch when the web server is told to stop: the server stops
    accepting connections but reads the whole body, stores the batch and answers 202."""
    ItemType.objects.create(
        id="post",
        name="Post",
        kind="CONTENT",
        fields=[
            {"name": "text", "type": "STRING", "required": True},
            {"name": "author", "type": "RELATED_ITEM", "required": True},
            {"name": "createdAt", "type": "DATETIME"},
            {"name": "images", "type": "ARRAY", "items": "IMAGE"},
        ],
        roles={"creatorId": "author", "createdAt": "createdAt"},
    )
    _, key = create_api_key(name="graceful")
    body = json.dumps({"items": [make_item(n) for n in range(100)]}).encode()
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "coop", "web", "--port", str(port)],
        env=_env(),
        start_new_session=True,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", web)

        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                (
                    "POST /api/v1/items/async/ HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{port}\r\n"
                    f"X-API-KEY: {key}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n"
                    "Expect: 100-continue\r\n\r\n"
                ).encode()
            )
            # The server says "go on" once the application waits for the body (as curl
            # waits for it before a large upload): the request is in flight.
            status, _, _ = _read_response(sock)
            assert status == 100
            sock.sendall(body[: len(body) // 2])

            web.send_signal(signal.SIGTERM)
            wait_until(lambda: _refuses_connections(port), 30, "still accepting connections")
            assert web.poll() is None, "exited with a request in flight"

            sock.sendall(body[len(body) // 2 :])
            status, headers, answer = _read_response(sock)
        assert status == 202, answer
        assert headers.get("connection") == "close"
        assert web.wait(timeout=30) == 0
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()
    assert ItemSubmission.objects.count() == 100


def _worker_listens() -> bool:
    """Whether a worker holds its LISTEN connection for new jobs on the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %%'"
        )
        return cursor.fetchone()[0] > 0


def test_worker_finishes_a_task_in_flight_on_sigterm():
    """The worker is sending a webhook when it is told to stop: it takes no new work but
    waits for the platform's answer, records the delivery and exits."""
    hold = threading.Event()
    with Receiver(active_signing_key().public_pem) as receiver:
        receiver.script = [Reply(hold=hold)]
        with transaction.atomic():
            delivery = create_delivery(
                DeliveryEvent.ACTION, f"{receiver.url}/a", {}, {"action": {"id": "x"}}
            )
        worker = subprocess.Popen(
            [sys.executable, "-m", "coop", "worker", "--concurrency", "1"],
            env=_env(),
            start_new_session=True,
        )
        try:
            assert receiver.arrived.wait(60), "the worker never sent the delivery"
            wait_until(_worker_listens, 30, "the worker never listened for new jobs")
            worker.send_signal(signal.SIGTERM)
            # A stopping worker closes its LISTEN connection before it waits for its tasks.
            wait_until(lambda: not _worker_listens(), 30, "the worker did not start stopping")
            assert worker.poll() is None, "exited with a task in flight"
            hold.set()
            assert worker.wait(timeout=60) == 0
        finally:
            hold.set()
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE task_name = 'coop.deliver'")
        assert cursor.fetchall() == []  # succeeded (successful jobs are deleted), none 'doing'
