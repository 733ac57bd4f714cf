"""Per-reviewer skip (review.md, Claiming and the review loop).

`skip` logs a `Skip` row (reviewer, job, queue, time) and releases the lease. The claim
statement (coop.review.claims) leaves out the jobs the reviewer has skipped (`NOT EXISTS` on
the Skip table, an index probe per candidate row), so other reviewers take them in their
normal position while the skipper gets the next ones; only when the reviewer has nothing
else left in the queue are their skipped jobs offered to them again. A decision closes the
job, so old skips never matter again.
"""

from __future__ import annotations

from django.db import transaction

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog.org_settings import org_settings
from coop.review.claims import release
from coop.review.models import Job, Skip


def may_skip(user: User) -> bool:
    """Skip is offered unless the settings hide it from non-admins."""
    return not org_settings()["review"]["hideSkipForNonAdmins"] or user.has_permission(
        Permission.MANAGE_ORG
    )


def skip(job: Job, user: User) -> None:
    """Log the skip and release the job: it stays in the queue, in its position, for others."""
    with transaction.atomic():
        Skip.objects.create(job=job, user=user, queue_id=job.queue_id)
        release(job, user)


__all__ = ["may_skip", "skip"]
