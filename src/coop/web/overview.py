"""The figures on the overview page, read with plain queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from coop.accounts.models import ApiKey
from coop.accounts.permissions import Permission
from coop.catalog.org_settings import org_settings
from coop.childsafety.jobs import WaitingJob, ncmec_queue, waiting
from coop.ingest.models import ItemSubmission
from coop.insights import dashboards, queries
from coop.insights.dashboards import Change, OverviewInsights, WindowChoice
from coop.review.queues import pending_counts


@dataclass(frozen=True)
class QueueCount:
    id: str
    name: str
    pending: int


@dataclass(frozen=True)
class Overview:
    organisation: str
    items_today: int | None  # None: the user may not see item data
    queues: list[QueueCount] | None  # None: the user reviews no queues
    active_api_keys: int | None  # None: the user does not manage the organisation
    # Users waiting for NCMEC review (None: no child-safety permission), the oldest first.
    ncmec: NcmecWaiting | None = None
    choice: WindowChoice | None = None
    insights: OverviewInsights | None = None  # None: no analytics permission
    # Pending jobs of the user's queues against the samples at the window's start (None: no
    # sample then, or no queues).
    pending_change: Change | None = None

    @property
    def pending_total(self) -> int:
        return sum(q.pending for q in self.queues or ())


@dataclass(frozen=True)
class NcmecWaiting:
    jobs: list[WaitingJob]
    pending: int
    queue_set: bool  # False: no NCMEC queue is set, csam reports wait in the default queue


def organisation_name() -> str:
    return org_settings()["organization"]["name"]


def overview_for(user, params=None) -> Overview:
    """Only the figures `user` is allowed to see; external moderators see their queues only.
    `params` holds the window selector (?range=&bucket=)."""
    items_today = None
    if user.has_permission(Permission.VIEW_MRT_DATA) or user.has_permission(
        Permission.VIEW_INSIGHTS
    ):
        midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        items_today = ItemSubmission.objects.filter(submitted_at__gte=midnight).count()

    queues = None
    if user.has_permission(Permission.VIEW_MRT):
        # The review visibility rule: the queues the user may work, the jobs they may see.
        queues = [QueueCount(q.pk, q.name, pending) for q, pending in pending_counts(user)]

    active_api_keys = None
    if user.has_permission(Permission.MANAGE_ORG):
        active_api_keys = ApiKey.objects.filter(revoked_at__isnull=True).count()

    ncmec = None
    if user.has_permission(Permission.VIEW_CHILD_SAFETY_DATA):
        jobs, pending = waiting()
        ncmec = NcmecWaiting(jobs, pending, ncmec_queue() is not None)

    choice = dashboards.choose_window(params or {})
    insights = dashboards.overview_insights(user, choice.window)
    pending_change = None
    if queues and insights is not None:
        earlier = {s.key: s.values[-1] for s in queries.queue_depth(choice.window.previous())}
        if any(q.id in earlier for q in queues):
            pending_change = Change(
                sum(q.pending for q in queues), sum(earlier.get(q.id, 0) for q in queues)
            )
    return Overview(
        organisation_name(),
        items_today,
        queues,
        active_api_keys,
        ncmec,
        choice if insights is not None else None,
        insights,
        pending_change,
    )
