"""The queues page and the queue preview: what each user may list (coop.review.visibility),
with pending counts, oldest job and stars (review.md, Queues)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min

from coop.accounts.models import User
from coop.review.models import Job, JobStatus, Queue, QueueOrder, QueueStar
from coop.review.visibility import visible_jobs, workable_queues

PREVIEW_ORDER = {
    QueueOrder.FIFO: ["created_at", "id"],
    QueueOrder.MOST_REPORTS: ["-report_count", "created_at", "id"],
    QueueOrder.PRIORITY: ["-priority", "created_at", "id"],
}


@dataclass(frozen=True, slots=True)
class QueueSummary:
    queue: Queue
    pending: int
    oldest_pending_at: datetime | None
    starred: bool


def queues_for(user: User) -> list[QueueSummary]:
    """The queues page: every queue the user may work with its pending count (jobs the user
    may see), oldest pending job and the user's star; starred first, then by name. Three
    queries whatever the count."""
    queues = workable_queues(user)
    if not queues:
        return []
    jobs = visible_jobs(
        user, Job.objects.filter(status=JobStatus.PENDING, queue__in=[q.pk for q in queues])
    )
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


def pending_counts(user: User) -> list[tuple[Queue, int]]:
    """(queue, pending jobs the user may see) of every queue the user may work, by name."""
    return [(s.queue, s.pending) for s in sorted(queues_for(user), key=_by_name)]


def _by_name(summary: QueueSummary) -> tuple[str, str]:
    return summary.queue.name, summary.queue.pk


def preview(queue: Queue, limit: int = 50, *, viewer: User | None = None) -> list[Job]:
    """The next `limit` pending jobs in the queue's order, without claiming any; only those
    `viewer` may see when given."""
    jobs = Job.objects.filter(queue=queue, status=JobStatus.PENDING)
    if viewer is not None:
        jobs = visible_jobs(viewer, jobs)
    order = PREVIEW_ORDER[QueueOrder(queue.order)]
    return list(jobs.select_related("lease_owner", "submission").order_by(*order)[:limit])


def star(queue: Queue, user: User, starred: bool) -> None:
    """Star (or unstar) a queue for this user; repeating is harmless."""
    if starred:
        QueueStar.objects.get_or_create(user=user, queue=queue)
    else:
        QueueStar.objects.filter(user=user, queue=queue).delete()


__all__ = ["QueueSummary", "pending_counts", "preview", "queues_for", "star"]
