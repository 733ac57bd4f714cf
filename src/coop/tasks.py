"""Housekeeping tasks of the task queue itself."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from procrastinate.contrib.django import app

log = logging.getLogger(__name__)


def housekeeping_cron(seconds: int | None = None) -> str:
    """The cron line of the housekeeping tasks: every COOP_HOUSEKEEPING_SECONDS.

    A divisor of 60 below a minute runs on the seconds column (procrastinate's sixth one);
    whole minutes that divide an hour on the minutes column.
    """
    seconds = settings.COOP_HOUSEKEEPING_SECONDS if seconds is None else seconds
    if 0 < seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    if seconds >= 60 and seconds % 60 == 0 and 60 % (seconds // 60) == 0:
        minutes = seconds // 60
        return {1: "* * * * *", 60: "0 * * * *"}.get(minutes, f"*/{minutes} * * * *")
    raise ImproperlyConfigured(
        f"COOP_HOUSEKEEPING_SECONDS={seconds}: use a divisor of 60 (1-30) "
        "or whole minutes that divide an hour (60, 120, ... 3600)"
    )


@app.periodic(cron=housekeeping_cron(), periodic_id="retry-stalled-jobs")
@app.task(name="coop.retry_stalled_jobs", queue="maintenance", queueing_lock="retry-stalled-jobs")
async def retry_stalled_jobs(timestamp: int) -> None:
    """Put back the tasks of workers that died (kill -9, lost machine): nothing is lost.

    A worker sends a heartbeat every COOP_WORKER_HEARTBEAT_SECONDS; jobs held by a worker
    silent for longer than COOP_STALLED_WORKER_SECONDS are retried. Their effects are
    idempotent, so a job that did finish is harmless.
    """
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.COOP_STALLED_WORKER_SECONDS
    )
    for job in stalled:
        log.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        await app.job_manager.retry_job(job)
