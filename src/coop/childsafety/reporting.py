"""Filing a CyberTip report: the one entry point the NCMEC job view calls."""

from __future__ import annotations

from django.conf import settings

from coop.childsafety.drafts import ReportDraft
from coop.childsafety.models import NcmecReport
from coop.childsafety.submission import Step, schedule


def ncmec_is_test() -> bool:
    """Reports go to NCMEC's test environment unless NCMEC_ENV is exactly `production`."""
    return settings.NCMEC_ENV != "production"


def start_report(draft: ReportDraft, reviewer, job=None) -> NcmecReport:
    """Store the report the reviewer decided on and defer the worker task that files it. Call
    inside the transaction that closes the job: the report and its task exist together or not
    at all. One job makes one report: a second call for the same job returns the first."""
    if job is not None:
        existing = NcmecReport.objects.filter(job=job).first()
        if existing is not None:
            return existing
    report = NcmecReport.objects.create(
        user_id=draft.user.item_id,
        user_type_id=draft.user.item_type_id,
        job=job,
        reviewer=reviewer,
        draft=draft.to_json(),
        is_test=ncmec_is_test(),
        step=Step.ADDITIONAL_INFO,
    )
    schedule(report.pk)
    return report
