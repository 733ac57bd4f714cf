"""Claiming review jobs: leases, skips, queue listings and who may work a queue (review.md).

Claiming
    `claim_next` takes an exclusive lease of `COOP_REVIEW_LEASE_SECONDS` on one pending job in
    ONE statement: the row is chosen in the queue's order with `FOR UPDATE SKIP LOCKED` and
    leased by the same UPDATE, so two reviewers never hold the same job, whatever the
    concurrency; it returns the whole row, so a claim is one round trip. Each queue order
    reads its own partial index in exactly the ORDER BY (`id` included) and stops at the
    first row that is neither leased, locked nor skipped by the reviewer. The same statement
    first renews the lease of a job the reviewer already holds in the queue (a reload keeps
    the job; the new claim runs only when there is none). A lease is never "returned" by a
    sweeper: a job whose lease has expired is simply claimable again (`lease_expires_at <
    now()`), unchanged and in its original position.

Per-reviewer skip
    `skip` logs a `Skip` row (reviewer, job, queue, time) and releases the lease. The claim
    statement leaves out the jobs the reviewer has skipped (`NOT EXISTS` on the Skip table, an
    index probe per candidate row), so other reviewers take them in their normal position
    while the skipper gets the next ones. Only when the reviewer has nothing else left in the
    queue are their skipped jobs offered to them again (a second statement, the job skipped
    longest ago first), so a job is never stranded with a lone reviewer and "queue empty" means
    empty. A decision closes the job, so old skips never matter again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog.org_settings import ncmec_queue_id
from coop.core.items import ItemRef
from coop.review.models import Job, JobKind, JobStatus, Queue, QueueOrder, QueueStar, Skip

logger = logging.getLogger(__name__)

# ORDER BY of each queue order; each matches a partial index on pending jobs.
ORDER_SQL = {
    QueueOrder.FIFO: "j.created_at, j.id",
    QueueOrder.MOST_REPORTS: "j.report_count DESC, j.created_at, j.id",
    QueueOrder.PRIORITY: "j.priority DESC, j.created_at, j.id",
}

# %(order)s and %(kinds)s are trusted fragments; every value is a parameter. Both statements
# return the whole job row, so claiming takes a single round trip.
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


def lease_seconds() -> int:
    return int(getattr(settings, "COOP_REVIEW_LEASE_SECONDS", 600))


def _statement(template: str, queue: Queue, user: User) -> tuple[str, dict]:
    kinds = "" if may_see_child_safety(user) else "AND j.kind <> 'NCMEC'"
    order = ORDER_SQL.get(QueueOrder(queue.order), ORDER_SQL[QueueOrder.FIFO])
    # Only the two trusted fragments are substituted here; values stay parameters.
    sql = template.replace("%(order)s", order).replace("%(kinds)s", kinds)
    return sql, {"queue": queue.pk, "user": user.pk, "lease": lease_seconds()}


def _claim_once(queue: Queue, user: User) -> Job | None:
    """The claimed job as the claim statement returned it (no second query): its queue is
    `queue` itself, its submission loads on first use."""
    for template in (_CLAIM, _CLAIM_SKIPPED):
        job = next(iter(Job.objects.raw(*_statement(template, queue, user))), None)
        if job is not None:
            job.queue = queue
            return job
    return None


def claim_next(queue: Queue, user: User) -> Job | None:
    """The job `user` holds in `queue` (lease renewed), else the next one claimed for them;
    None when nothing is left for them. Does not check `can_work` (callers do).

    In queues with `auto_close_deleted`, a claimed job whose item is marked deleted (the
    `isDeleted` role of its latest submission) is closed as AUTOMATIC_CLOSE and the next one
    is claimed.
    """
    while True:
        job = _claim_once(queue, user)
        if job is None or not queue.auto_close_deleted or not _item_deleted(job):
            return job
        from coop.review.decisions import auto_close

        if not auto_close(job, "ITEM_DELETED_BEFORE_REVIEW"):
            return job


def _item_deleted(job: Job) -> bool:
    """Whether the job item's latest submission has the `isDeleted` role set to true."""
    from coop.catalog.models import ItemType
    from coop.ingest.store import history_of

    item_type = ItemType.objects.filter(pk=job.item_type_id).only("roles").first()
    field = (item_type.roles or {}).get("isDeleted") if item_type else None
    if not field:
        return False
    latest = (
        history_of(ItemRef(job.item_id, job.item_type_id)).values_list("data", flat=True).first()
    )
    return isinstance(latest, dict) and latest.get(field) is True


def skip(job: Job, user: User) -> None:
    """Log the skip and release the job: it stays in the queue, in its position, for others."""
    with transaction.atomic():
        Skip.objects.create(job=job, user=user, queue_id=job.queue_id)
        _release(job, user)


def release(job: Job, user: User) -> None:
    """Give the job back to the queue if `user` holds it (nothing otherwise)."""
    _release(job, user)


def _release(job: Job, user: User) -> None:
    Job.objects.filter(pk=job.pk, status=JobStatus.PENDING, lease_owner=user).update(
        lease_owner=None, lease_expires_at=None
    )
    job.lease_owner, job.lease_expires_at = None, None


def holds_lease(job: Job, user: User) -> bool:
    """Whether `user` holds `job`: the lease is theirs (an expired lease still counts until
    someone else claims the job, which takes the lease over)."""
    return job.lease_owner_id == user.pk


def pending_count(queue: Queue) -> int:
    """Jobs waiting for a decision in the queue, including those being reviewed now."""
    return Job.objects.filter(queue=queue, status=JobStatus.PENDING).count()


def oldest_pending_at(queue: Queue) -> datetime | None:
    return (
        Job.objects.filter(queue=queue, status=JobStatus.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def preview(queue: Queue, limit: int = 50) -> list[Job]:
    """The next `limit` pending jobs in the queue's order, without claiming any."""
    order = {
        QueueOrder.FIFO: ["created_at", "id"],
        QueueOrder.MOST_REPORTS: ["-report_count", "created_at", "id"],
        QueueOrder.PRIORITY: ["-priority", "created_at", "id"],
    }[QueueOrder(queue.order)]
    return list(
        Job.objects.filter(queue=queue, status=JobStatus.PENDING)
        .select_related("lease_owner", "submission")
        .order_by(*order)[:limit]
    )


def may_see_child_safety(user: User) -> bool:
    return user.has_permission(Permission.VIEW_CHILD_SAFETY_DATA)


def can_work(
    user: User,
    queue: Queue,
    *,
    ncmec_queue: str | bool | None = False,
    is_reviewer: bool | None = None,
) -> bool:
    """Whether `user` may claim and decide jobs in `queue`: an active user who is one of its
    reviewers (with VIEW_MRT) or has EDIT_MRT_QUEUES; the NCMEC queue needs
    VIEW_CHILD_SAFETY_DATA too. `ncmec_queue` and `is_reviewer` let callers that already
    know them (the NCMEC queue id, whether `user` is one of the queue's reviewers) save the
    queries."""
    if not user.is_active:
        return False
    if ncmec_queue is False:
        ncmec_queue = ncmec_queue_id()
    if ncmec_queue and queue.pk == ncmec_queue and not may_see_child_safety(user):
        return False
    if user.has_permission(Permission.EDIT_MRT_QUEUES):
        return True
    if not user.has_permission(Permission.VIEW_MRT):
        return False
    if is_reviewer is not None:
        return is_reviewer
    return queue.reviewers.filter(pk=user.pk).exists()


def can_work_job(
    user: User,
    job: Job,
    *,
    ncmec_queue: str | bool | None = False,
    is_reviewer: bool | None = None,
) -> bool:
    """`can_work` for the job's queue, and NCMEC jobs only with VIEW_CHILD_SAFETY_DATA."""
    if job.kind == JobKind.NCMEC and not may_see_child_safety(user):
        return False
    return can_work(user, job.queue, ncmec_queue=ncmec_queue, is_reviewer=is_reviewer)


@dataclass(frozen=True, slots=True)
class QueueSummary:
    queue: Queue
    pending: int
    oldest_pending_at: datetime | None
    starred: bool


def workable_queues(user: User) -> list[Queue]:
    """The queues `user` may work, by name."""
    if not user.is_active:
        return []
    queues = Queue.objects.order_by("name", "id")
    if not user.has_permission(Permission.EDIT_MRT_QUEUES):
        if not user.has_permission(Permission.VIEW_MRT):
            return []
        queues = queues.filter(reviewers=user)
    ncmec = ncmec_queue_id()
    if ncmec and not may_see_child_safety(user):
        queues = queues.exclude(pk=ncmec)
    return list(queues)


def queues_for(user: User) -> list[QueueSummary]:
    """The queues page: every queue the user may work with its pending count, oldest pending
    job and the user's star; starred first, then by name. Three queries whatever the count."""
    queues = workable_queues(user)
    if not queues:
        return []
    jobs = Job.objects.filter(status=JobStatus.PENDING, queue__in=[q.pk for q in queues])
    if not may_see_child_safety(user):
        jobs = jobs.exclude(kind=JobKind.NCMEC)
    stats = {
        row["queue_id"]: row
        for row in jobs.values("queue_id").annotate(n=Count("id"), oldest=Min("created_at"))
    }
    starred = set(QueueStar.objects.filter(user=user).values_list("queue_id", flat=True))
    out = [
        QueueSummary(
            queue=q,
            pending=stats.get(q.pk, {}).get("n", 0),
            oldest_pending_at=stats.get(q.pk, {}).get("oldest"),
            starred=q.pk in starred,
        )
        for q in queues
    ]
    out.sort(key=lambda s: not s.starred)  # stable: by name within each group
    return out


def star(queue: Queue, user: User, starred: bool) -> None:
    """Star (or unstar) a queue for this user; repeating is harmless."""
    if starred:
        QueueStar.objects.get_or_create(user=user, queue=queue)
    else:
        QueueStar.objects.filter(user=user, queue=queue).delete()


__all__ = [
    "QueueSummary",
    "can_work",
    "can_work_job",
    "claim_next",
    "holds_lease",
    "oldest_pending_at",
    "pending_count",
    "preview",
    "queues_for",
    "release",
    "skip",
    "star",
]
