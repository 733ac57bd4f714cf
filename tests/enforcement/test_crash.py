"""Crash safety: a worker killed in the middle of a delivery loses nothing (quality.md)."""

from __future__ import annotations

import signal
import threading

import pytest
from django.db import connection, transaction

from coop.enforcement.models import Delivery, DeliveryEvent, DeliveryStatus
from coop.enforcement.services import create_delivery
from enforcement.receiver import Reply
from processes import start_worker, stop, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def deliver_jobs(status: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT jsonb_array_elements_text(args->'delivery_ids') FROM procrastinate_jobs "
            "WHERE task_name = 'coop.deliver' AND status = %s",
            [status],
        )
        return [row[0] for row in cursor.fetchall()]


def test_worker_killed_mid_delivery_then_swept_and_resent_by_another_worker(receiver):
    hold = threading.Event()
    receiver.script = [Reply(hold=hold), Reply(200)]
    with transaction.atomic():
        delivery = create_delivery(
            DeliveryEvent.ACTION, f"{receiver.url}/a", {}, {"action": {"id": "x"}}
        )
    # A real worker process on the test database picks the task and starts sending.
    worker = start_worker()
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
    assert deliver_jobs("todo") == []  # and its task is stuck in 'doing'
    assert deliver_jobs("doing") == [str(delivery.pk)]

    # A surviving worker's delivery sweep finds the due delivery without a waiting task and
    # sends it again. Its dead colleague's job is left 'doing' (the stalled-job retry is kept
    # out of this test with a long threshold): the sweep alone recovers the delivery.
    survivor = start_worker(
        COOP_HOUSEKEEPING_SECONDS="1",
        COOP_DELIVERY_SWEEP_GRACE_SECONDS="0",
        COOP_STALLED_WORKER_SECONDS="3600",
    )
    try:

        def delivered() -> bool:
            delivery.refresh_from_db()
            return delivery.status == DeliveryStatus.DELIVERED

        wait_until(delivered, 45, "the surviving worker did not sweep and resend the delivery")
        # Sweeps go on every second; a delivered delivery is never sent again.
        wait_until(lambda: deliver_jobs("todo") == [], 30, "a sweep left a task behind")
    finally:
        stop(survivor)
    assert survivor.returncode == 0
    assert deliver_jobs("doing") == [str(delivery.pk)]  # the dead worker's, never retried
    assert delivery.attempts == 1  # the killed attempt was never recorded
    first, second = receiver.requests
    assert first.headers["coop-delivery-id"] == second.headers["coop-delivery-id"]
    assert first.body == second.body
    assert Delivery.objects.count() == 1
