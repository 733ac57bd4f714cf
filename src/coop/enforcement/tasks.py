"""Background tasks of the webhook outbox: sending deliveries and recovering lost ones."""

from __future__ import annotations

from django.db import transaction
from procrastinate.contrib.django import app

from coop.enforcement import delivery


@app.task(name="coop.deliver", queue="webhooks")
def deliver(delivery_id: str) -> None:
    """One attempt of one delivery; a retryable failure schedules the next in the same
    transaction as the attempt's record, so a crash loses neither."""
    with transaction.atomic():
        retry_at = delivery.attempt(delivery_id)
        if retry_at is not None:
            deliver.configure(schedule_at=retry_at).defer(delivery_id=delivery_id)


@app.periodic(cron="* * * * *", periodic_id="sweep-deliveries")
@app.task(name="coop.sweep_deliveries", queue="webhooks")
def sweep_deliveries(timestamp: int) -> None:
    """Re-defer due deliveries that have no waiting task (e.g. a worker was killed mid-send)."""
    with transaction.atomic():
        ids = delivery.orphaned_due()
        if ids:
            deliver.batch_defer(*({"delivery_id": str(pk)} for pk in ids))
