"""Claiming review jobs: leases and who holds what (review.md, Claiming and the review loop).

`claim_next` takes an exclusive lease of `settings.review.leaseSeconds` (the organisation's
setting, read inside the statement) on one pending job in ONE statement: the row is chosen
in the queue's order with `FOR UPDATE SKIP LOCKED` and leased by the same UPDATE, so two
reviewers never hold the same job, whatever the concurrency; it returns the whole row, so a
claim is one round trip. Each queue order reads its own partial index in exactly the ORDER
BY (`id` included) and stops at the first row that is neither leased, locked nor skipped by
the reviewer. The same statement first renews the lease of a job the reviewer already holds
in the queue (a reload keeps the job; the new claim runs only when there is none). A lease
is never "returned" by a sweeper: a job whose lease has expired is simply claimable again
(`lease_expires_at < now()`), unchanged and in its original position.

Jobs the reviewer has skipped (coop.review.skips) are left out while anything else is
left for them; then they are offered again, the job skipped longest ago first, so a job is
never stranded with a lone reviewer and "queue empty" means empty. Child-safety jobs are
left out for users who may not see them (coop.review.visibility, the same rule as every
other reader).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db.models import Q
from django.db.models.functions import Now

from coop.accounts.models import User
from coop.catalog.org_settings import review_lease_sql
from coop.review.closing import auto_close, item_deleted
from coop.review.models import Job, JobStatus, Queue, QueueOrder
from coop.review.visibility import hidden_jobs_sql, visible_jobs

# ORDER BY of each queue order; each matches a partial index on pending jobs.
ORDER_SQL = {
    QueueOrder.FIFO: "j.created_at, j.id",
    QueueOrder.MOST_REPORTS: "j.report_count DESC, j.created_at, j.id",
    QueueOrder.PRIORITY: "j.priority DESC, j.created_at, j.id",
}

# %(order)s, %(kinds)s and %(lease)s are trusted fragments; every value is a parameter. Both
# statements return the whole job row, so claiming takes a single round trip.
_CLAIM = """
WITH mine AS (
    UPDATE review_job SET lease_expires_at = now() + make_interval(secs => %(lease)s)
    WHERE id = (
        SELECT id FROM review_job
        WHERE queue_id = %(queue)s AND status = 'PENDING' AND lease_owner_id = %(user)s
        ORDER BY created_at LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    RETURNING *
), fresh AS (
    UPDATE review_job SET lease_owner_id = %(user)s,
                          lease_expires_at = now() + make_interval(secs => %(lease)s)
    WHERE NOT EXISTS (SELECT 1 FROM mine) AND id = (
        SELECT j.id FROM review_job j
        WHERE j.queue_id = %(queue)s AND j.status = 'PENDING'
          AND (j.lease_expires_at IS NULL OR j.lease_expires_at < now())
          %(kinds)s
          AND NOT EXISTS (
              SELECT 1 FROM review_skip s WHERE s.job_id = j.id AND s.user_id = %(user)s
          )
        ORDER BY %(order)s LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    RETURNING *
)
SELECT * FROM mine UNION ALL SELECT * FROM fresh
"""

# Only the reviewer's own skipped jobs are left: offer them again, the oldest skip first.
_CLAIM_SKIPPED = """
UPDATE review_job SET lease_owner_id = %(user)s,
                      lease_expires_at = now() + make_interval(secs => %(lease)s)
WHERE id = (
    SELECT j.id FROM review_job j
    JOIN LATERAL (
        SELECT max(s.created_at) AS skipped_at FROM review_skip s
        WHERE s.job_id = j.id AND s.user_id = %(user)s
    ) s ON s.skipped_at IS NOT NULL
    WHERE j.queue_id = %(queue)s AND j.status = 'PENDING'
      AND (j.lease_expires_at IS NULL OR j.lease_expires_at < now())
      %(kinds)s
    ORDER BY s.skipped_at, j.created_at, j.id LIMIT 1
    FOR UPDATE OF j SKIP LOCKED
)
RETURNING *
"""


def _statement(template: str, queue: Queue, user: User) -> tuple[str, dict]:
    kinds = hidden_jobs_sql(user)
    order = ORDER_SQL.get(QueueOrder(queue.order), ORDER_SQL[QueueOrder.FIFO])
    # Only the trusted fragments are substituted here; values stay parameters.
    sql = (
        template.replace("%(order)s", order)
        .replace("%(kinds)s", kinds)
        .replace("%(lease)s", review_lease_sql())
    )
    return sql, {"queue": queue.pk, "user": user.pk}


def _claim_once(queue: Queue, user: User) -> Job | None:
    """The claimed job as the claim statement returned it (no second query): its queue is
    `queue` itself, its submission loads on first use."""
    for template in (_CLAIM, _CLAIM_SKIPPED):
        job = next(iter(Job.objects.raw(*_statement(template, queue, user))), None)
        if job is not None:
            job.queue = queue
            return job
    return None


def claim_next(
    queue: Queue, user: User, on_refresh_error: Callable[[str], None] | None = None
) -> Job | None:
    """The job `user` holds in `queue` (lease renewed), else the next one claimed for them;
    None when nothing is left for them. Does not check `visibility.may_work_queue`
    (callers do).

    In queues with `auto_close_deleted`, a claimed job whose item is marked deleted (the
    `isDeleted` role of its latest data, refreshed through partial items when configured:
    the lease is held, no row lock) is closed as AUTOMATIC_CLOSE and the next one is claimed.
    When the platform does not answer, `on_refresh_error` is told why.
    """
    while True:
        job = _claim_once(queue, user)
        if job is None or not queue.auto_close_deleted:
            return job
        if not item_deleted(job, refresh=True, on_refresh_error=on_refresh_error):
            return job
        if not auto_close(job, "ITEM_DELETED_BEFORE_REVIEW"):
            return job


def release(job: Job, user: User) -> None:
    """Give the job back to the queue if `user` holds it (nothing otherwise)."""
    Job.objects.filter(pk=job.pk, status=JobStatus.PENDING, lease_owner=user).update(
        lease_owner=None, lease_expires_at=None
    )
    job.lease_owner, job.lease_expires_at = None, None


def holds_lease(job: Job, user: User) -> bool:
    """Whether `user` holds `job`: the lease is theirs (an expired lease still counts until
    someone else claims the job, which takes the lease over)."""
    return job.lease_owner_id == user.pk


def held_job(queue: Queue, user: User) -> Job | None:
    """The pending job `user` holds in `queue`, if any (read only: no lease is taken or
    renewed)."""
    jobs = Job.objects.filter(queue=queue, status=JobStatus.PENDING, lease_owner=user)
    return visible_jobs(user, jobs).order_by("created_at").first()


def claimable_count(queue: Queue, user: User) -> int:
    """Pending jobs of `queue` nobody holds now (no lease, or an expired one), among those
    `user` may see."""
    jobs = Job.objects.filter(queue=queue, status=JobStatus.PENDING).filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=Now())
    )
    return visible_jobs(user, jobs).count()


def pending_count(queue: Queue, viewer: User | None = None) -> int:
    """Jobs waiting for a decision in the queue, including those being reviewed now; only
    those `viewer` may see when given."""
    jobs = Job.objects.filter(queue=queue, status=JobStatus.PENDING)
    if viewer is not None:
        jobs = visible_jobs(viewer, jobs)
    return jobs.count()


def oldest_pending_at(queue: Queue) -> datetime | None:
    return (
        Job.objects.filter(queue=queue, status=JobStatus.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )


__all__ = [
    "claim_next",
    "claimable_count",
    "held_job",
    "holds_lease",
    "oldest_pending_at",
    "pending_count",
    "release",
]
