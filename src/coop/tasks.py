"""Housekeeping tasks of the task queue itself."""

from __future__ import annotations

import logging

from procrastinate.contrib.django import app

log = logging.getLogger(__name__)


@app.periodic(cron="* * * * *", periodic_id="retry-stalled-jobs")
@app.task(name="coop.retry_stalled_jobs", queue="maintenance", queueing_lock="retry-stalled-jobs")
async def retry_stalled_jobs(timestamp: int) -> None:
    """Put back the tasks of workers that died (kill -9, lost machine): nothing is lost.

    A worker sends heartbeats; jobs held by a worker silent for longer than the stalled
    timeout are retried. Their effects are idempotent, so a job that did finish is harmless.
    """
    for job in await app.job_manager.get_stalled_jobs():
        log.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        await app.job_manager.retry_job(job)
