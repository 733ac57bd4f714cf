"""Fixtures of the HMA tests: a fake HMA on 127.0.0.1 that must be called, and a task runner."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from django.db import connection

from coop.hma import client as hma_client
from coop.hma import tasks
from coop.hma.sync import RetryLater
from coop.testing.fake_hma import FakeHma

TASKS = {
    "coop.hma_sync_bank": tasks.sync_bank,
    "coop.hma_remove_bank": tasks.remove_bank,
}


def running_fake(settings) -> Iterator[FakeHma]:
    """A running fake HMA that HMA_SERVICE_URL points at; a test that never calls it fails."""
    with FakeHma() as fake:
        settings.HMA_SERVICE_URL = fake.url
        yield fake
        hma_client._clients.pop(fake.url, None)
    assert fake.requests, "the fake HMA was never called"


@pytest.fixture
def hma(settings):
    yield from running_fake(settings)


def closed_port_url() -> str:
    """An address where nothing listens: HMA is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def quick_client(url: str, **timeouts: float) -> hma_client.HmaClient:
    """Make the process's client for `url` one with short timeouts (timeout tests)."""
    found = hma_client._clients[url] = hma_client.HmaClient(url, **timeouts)
    return found


def pending_jobs() -> list[tuple[str, dict]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_name, args FROM procrastinate_jobs"
            " WHERE status = 'todo' AND task_name LIKE 'coop.hma%%' ORDER BY id"
        )
        return [
            (name, args if isinstance(args, dict) else json.loads(args)) for name, args in cursor
        ]


def run_jobs(limit: int = 50) -> list[str]:
    """Run the waiting HMA tasks as the worker would, until none is left; what each did
    ("ok", or the retry reason)."""
    done = []
    for _ in range(limit):
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM procrastinate_jobs WHERE id = (SELECT min(id) FROM procrastinate_jobs"
                " WHERE status = 'todo' AND task_name LIKE 'coop.hma%%') RETURNING task_name, args"
            )
            row = cursor.fetchone()
        if row is None:
            return done
        name, args = row
        try:
            TASKS[name](**(args if isinstance(args, dict) else json.loads(args)))
            done.append("ok")
        except RetryLater as exc:
            done.append(f"retry: {exc}")
    raise AssertionError("HMA tasks kept deferring each other")
