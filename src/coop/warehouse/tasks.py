"""The warehouse's periodic work: event partitions ahead and past retention, and shipping the
ClickHouse outbox."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from procrastinate.contrib.django import app

from coop.tasks import housekeeping_cron
from coop.warehouse import partitions, sink

log = logging.getLogger(__name__)


@app.periodic(cron="7 * * * *", periodic_id="maintain-event-partitions")
@app.task(
    name="coop.maintain_event_partitions",
    queue="maintenance",
    queueing_lock="maintain-event-partitions",
)
def maintain_event_partitions(timestamp: int) -> None:
    """Hourly, cheap when there is nothing to do: AHEAD_MONTHS of partitions always exist, so a
    worker stopped for weeks does not send new events to the default partition."""
    report = partitions.maintain(timezone.now(), settings.COOP_EVENT_RETENTION_DAYS)
    if report.created or report.dropped or report.deleted_rows:
        log.info(
            "event partitions: created %s, dropped %s, %d old rows deleted from default",
            report.created,
            report.dropped,
            report.deleted_rows,
        )


@app.periodic(cron=housekeeping_cron(), periodic_id="ship-to-clickhouse")
@app.task(name="coop.ship_to_clickhouse", queue="warehouse", queueing_lock="ship-to-clickhouse")
def ship_to_clickhouse(timestamp: int) -> None:
    """Every housekeeping run: capture switched to match COOP_WAREHOUSE, then the outbox
    shipped to ClickHouse (a no-op with the default postgres warehouse). Its own queue, so a
    long catch-up never delays the maintenance tasks."""
    if sink.sync_state():
        sink.ship()
