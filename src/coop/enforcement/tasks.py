"""Background tasks of the webhook outbox: sending deliveries and recovering lost ones."""

from __future__ import annotations

from django.db import transaction
from procrastinate.contrib.django import app

from coop.enforcement import delivery
from coop.queueing import in_transaction
from coop.tasks import housekeeping_cron

DELIVERY_BATCH = 100


@app.task(name="coop.deliver", queue="webhooks")
def deliver(delivery_ids: list[str]) -> None:
    """One attempt of each delivery; retryable failures schedule their next attempt in the
    same transaction as the attempt's record, so a crash loses neither."""
    with transaction.atomic():
        for delivery_id, retry_at in delivery.attempt(delivery_ids).items():
            in_transaction(deliver, schedule_at=retry_at).defer(delivery_ids=[delivery_id])


@app.periodic(cron=housekeeping_cron(), periodic_id="sweep-deliveries")
@app.task(name="coop.sweep_deliveries", queue="webhooks")
def sweep_deliveries(timestamp: int) -> None:
    """Re-defer due deliveries that have no waiting task (e.g. a worker was killed mid-send);
    every COOP_HOUSEKEEPING_SECONDS."""
    with transaction.atomic():
        ids = delivery.orphaned_due()
        send_later(ids)


def send_later(delivery_ids: list[str]) -> None:
    """Defer the sending of deliveries, DELIVERY_BATCH per task, in the caller's transaction."""
    for start in range(0, len(delivery_ids), DELIVERY_BATCH):
        in_transaction(deliver).defer(delivery_ids=delivery_ids[start : start + DELIVERY_BATCH])
