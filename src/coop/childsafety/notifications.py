"""Telling people that a CyberTip report needs them (review.md: failures notify the reviewer and
the organisation).

- The reviewer: every console page they open shows a notice while a report they submitted is
  failed (`failed_reports_of`, read by the `ncmec_notices` context processor).
- The organisation: an email to the on-call address (Settings → Organisation), sent by a task
  deferred in the same transaction as the failure, so a crash cannot lose it. It names the
  report, the step and the error, never the reported content or a credential.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from coop.catalog.org_settings import org_settings
from coop.childsafety.models import NcmecReport, NcmecReportStatus, NcmecReportStep, NcmecStepStatus
from coop.mail import send_mail
from coop.queueing import in_transaction

log = logging.getLogger(__name__)

FAILED = "failed"
PRESERVATION_DEAD = "preservation-dead"


@app.task(
    name="coop.ncmec_notify",
    queue="ncmec",
    retry=RetryStrategy(max_attempts=6, exponential_wait=10),
)
def email_on_call(report_id: str, reason: str) -> None:
    """Email the on-call address about one report (retried while the SMTP server refuses)."""
    report = NcmecReport.objects.select_related("reviewer").filter(pk=report_id).first()
    if report is None:
        return
    to = org_settings()["organization"]["onCallEmail"]
    if not to:
        log.warning(
            "NCMEC report %s needs attention but no on-call email is set (Settings → Organisation)",
            report_id,
        )
        return
    subject, body = message(report, reason)
    send_mail(to, subject, body)


def notify(report: NcmecReport, reason: str = FAILED) -> None:
    """Queue the on-call email, in the caller's transaction."""
    in_transaction(email_on_call).defer(report_id=str(report.pk), reason=reason)


def message(report: NcmecReport, reason: str) -> tuple[str, str]:
    environment = "NCMEC's test environment" if report.is_test else "NCMEC (production)"
    link = settings.BASE_URL + reverse("ncmec-report", args=[report.pk])
    reviewer = report.reviewer.email if report.reviewer else "(deleted user)"
    if reason == PRESERVATION_DEAD:
        subject = f"NCMEC report {report.report_id}: the preservation request failed"
        what = (
            f"CyberTip report {report.report_id} was filed with {environment}, but the "
            "platform's preservation endpoint did not accept the preservation request."
        )
    else:
        failed = (
            NcmecReportStep.objects.filter(report=report, status=NcmecStepStatus.FAILED)
            .order_by("-id")
            .first()
        )
        subject = "A CyberTip report could not be filed"
        what = (
            f"A CyberTip report for {environment} stopped at the step "
            f"“{failed.label if failed else report.step}”.\n\nError: {report.error}"
        )
    body = (
        f"{what}\n\n"
        f"Reported user: {report.user_type_id}/{report.user_id}\n"
        f"Reviewer: {reviewer}\n\n"
        f"Open the report in Coop to see every step and to retry:\n{link}\n"
    )
    return subject, body


def failed_reports_of(user) -> QuerySet[NcmecReport]:
    """The reports `user` submitted that are failed and wait for Retry."""
    return NcmecReport.objects.filter(reviewer=user, status=NcmecReportStatus.FAILED)
