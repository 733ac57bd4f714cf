"""Background tasks of child safety: filing CyberTip reports (coop.childsafety.submission),
emailing the on-call address (coop.childsafety.notifications), and their housekeeping."""

from __future__ import annotations

from procrastinate.contrib.django import app

from coop.childsafety import submission
from coop.childsafety.notifications import email_on_call
from coop.tasks import housekeeping_cron

__all__ = ["email_on_call", "file_report", "sweep_reports"]

file_report = submission.file_report


@app.periodic(cron=housekeeping_cron(), periodic_id="sweep-ncmec-reports")
@app.task(name="coop.ncmec_sweep", queue="maintenance", queueing_lock="sweep-ncmec-reports")
def sweep_reports(timestamp: int) -> None:
    """Re-defer report tasks that were lost and alert on dead preservation requests; every
    COOP_HOUSEKEEPING_SECONDS."""
    submission.sweep()
