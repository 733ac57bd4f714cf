"""The worker's insights housekeeping: fold the delta outbox, sample queue depth, test alarms."""

from __future__ import annotations

import logging

from procrastinate.contrib.django import app

from coop.insights import alarms, fold
from coop.tasks import housekeeping_cron

log = logging.getLogger(__name__)


@app.periodic(cron=housekeeping_cron(), periodic_id="insights-rollups")
@app.task(name="coop.insights_rollups", queue="maintenance", queueing_lock="insights-rollups")
def maintain_rollups(timestamp: int) -> None:
    """Every COOP_HOUSEKEEPING_SECONDS: fold the new events into the hourly rollups, record
    the queues' depth for this hour, and test the rules' last full hour for anomalies."""
    folded = fold.fold()
    if folded.deltas:
        log.info("folded %s deltas (%s events)", folded.deltas, folded.events)
    fold.sample_queue_depth()
    alarms.check_all()
