"""Invalidate reports from a reporter (review.md): a bad-faith reporter's entries leave the
current job or every pending job; jobs left with nothing are closed as INVALIDATED."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.core.items import ItemRef
from coop.review.closing import close_job, record_decision
from coop.review.errors import DecisionRefusedError
from coop.review.models import DecisionType, Job, JobStatus, Report
from coop.review.visibility import may_see_child_safety, visible_jobs


@dataclass(frozen=True, slots=True)
class InvalidationResult:
    jobs_scanned: int
    jobs_scrubbed: int
    jobs_closed: int
    reports_invalidated: int


def invalidate_reporter(
    job: Job, user: User, reporter: ItemRef, everywhere: bool
) -> InvalidationResult:
    """Invalidate a bad-faith reporter's reports on `job`, or on every pending job in every
    non-appeal queue (EDIT_MRT_QUEUES). The reports stay, marked `invalidated_at`; a job left
    with no valid report whose source is REPORT is closed as INVALIDATED with an audit
    Decision (never silently deleted); rule-enqueued jobs stay pending. Child-safety jobs
    are left alone unless `user` may see them (visibility)."""
    if not user.has_permission(Permission.EDIT_MRT_QUEUES):
        raise DecisionRefusedError("Invalidating reports needs the EDIT_MRT_QUEUES permission.")
    now = timezone.now()
    with transaction.atomic():
        reports = Report.objects.filter(
            reporter_id=reporter.item_id,
            reporter_type_id=reporter.item_type_id,
            invalidated_at__isnull=True,
            job__status=JobStatus.PENDING,
            job__queue__is_appeals=False,
        )
        if not everywhere:
            reports = reports.filter(job=job)
        if not may_see_child_safety(user):  # never child-safety jobs they may not see
            reports = reports.filter(job__in=visible_jobs(user).values("pk"))
        job_ids = set(reports.values_list("job_id", flat=True))
        jobs = list(
            Job.objects.select_for_update()
            .filter(pk__in=job_ids, status=JobStatus.PENDING)
            .order_by("pk")
        )
        count = Report.objects.filter(pk__in=reports.filter(job__in=jobs).values("pk")).update(
            invalidated_at=now
        )
        closed = 0
        for j in jobs:
            valid = Report.objects.filter(job=j, invalidated_at__isnull=True).count()
            j.priority += valid - j.report_count  # priority = signal score + report count
            j.report_count, j.updated_at = valid, now
            j.save(update_fields=["report_count", "priority", "updated_at"])
            if valid == 0 and j.source == "REPORT":
                component = {
                    "type": DecisionType.INVALIDATED,
                    "reporter": reporter.as_wire(),
                }
                record_decision(j, user, [component], now=now)
                close_job(j, now, JobStatus.INVALIDATED)
                closed += 1
    return InvalidationResult(len(job_ids), len(jobs), closed, count)


__all__ = ["InvalidationResult", "invalidate_reporter"]
