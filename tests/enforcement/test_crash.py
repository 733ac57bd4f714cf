"""Crash safety: a worker killed in the middle of a delivery loses nothing (quality.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
from django.db import connection, transaction
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from coop.enforcement import delivery as delivery_module
from coop.enforcement.models import Delivery, DeliveryEvent, DeliveryStatus
from coop.enforcement.services import create_delivery
from coop.enforcement.tasks import deliver, sweep_deliveries
from enforcement.receiver import Reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def todo_jobs() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT jsonb_array_elements_text(args->'delivery_ids') FROM procrastinate_jobs "
            "WHERE task_name = 'coop.deliver' AND status = 'todo'"
        )
        return [row[0] for row in cursor.fetchall()]


def test_worker_killed_mid_delivery_then_swept_and_resent(receiver, monkeypatch):
    hold = threading.Event()
    receiver.script = [Reply(hold=hold), Reply(200)]
    with transaction.atomic():
        delivery = create_delivery(
            DeliveryEvent.ACTION, f"{receiver.url}/a", {}, {"action": {"id": "x"}}
        )
    # A real worker process on the test database picks the task and starts sending.
    url = make_conninfo(
        **{
            **conninfo_to_dict(os.environ["DATABASE_URL"]),
            "dbname": connection.settings_dict["NAME"],
        }
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "coop", "worker", "--concurrency", "1"],
        env={**os.environ, "DATABASE_URL": url},
        start_new_session=True,
    )
    try:
        assert receiver.arrived.wait(60), "the worker never sent the delivery"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        hold.set()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING  # the killed attempt left no trace
    assert todo_jobs() == []  # and its task is stuck in 'doing'

    monkeypatch.setattr(delivery_module, "SWEEP_GRACE", delivery_module.SWEEP_GRACE * 0)
    sweep_deliveries(timestamp=0)
    assert todo_jobs() == [str(delivery.pk)]
    sweep_deliveries(timestamp=0)
    assert todo_jobs() == [str(delivery.pk)]  # never twice

    deliver([str(delivery.pk)])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    first, second = receiver.requests
    assert first.headers["coop-delivery-id"] == second.headers["coop-delivery-id"]
    assert first.body == second.body
    assert Delivery.objects.count() == 1
