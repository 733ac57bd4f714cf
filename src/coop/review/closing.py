"""Closing review jobs: the audit record of a decision, the job's closing, and the automatic
close of jobs whose item was deleted before review (review.md, Auto-close)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from coop.accounts.models import User
from coop.catalog.models import ItemType
from coop.core.items import ItemRef
from coop.ingest.store import history_of
from coop.integrations import partial_items
from coop.review.items import job_item
from coop.review.models import Decision, DecisionType, Job, JobStatus

logger = logging.getLogger(__name__)


def action_component(
    action_id: str,
    policy_ids: list[str],
    parameters: dict[str, Any],
    item: ItemRef,
    related: bool,
) -> dict[str, Any]:
    """The ACTION component of a decision (wire form of `item` added by `wire`)."""
    component: dict[str, Any] = {
        "type": DecisionType.ACTION,
        "actionIds": [action_id],
        "policyIds": list(dict.fromkeys(policy_ids)),
        "itemRef": item.as_wire(),
    }
    if parameters:
        component["parameters"] = dict(parameters)
    if related:
        component["related"] = True
    return component


def wire(component: dict[str, Any]) -> dict[str, Any]:
    """The component as stored: item references in their wire form."""
    return {k: (v.as_wire() if isinstance(v, ItemRef) else v) for k, v in component.items()}


def close_job(job: Job, now: datetime, status: JobStatus = JobStatus.DECIDED) -> None:
    job.status, job.closed_at, job.updated_at = status, now, now
    job.lease_owner, job.lease_expires_at = None, None
    job.save(update_fields=["status", "closed_at", "updated_at", "lease_owner", "lease_expires_at"])


def record_decision(
    job: Job,
    user: User | None,
    components: list[dict[str, Any]],
    reason: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Decision:
    """Write the audit record of a decision on `job` (no other effect)."""
    record = build_decision(job, user, components, reason, note, now)
    record.save(force_insert=True)
    return record


def build_decision(
    job: Job,
    user: User | None,
    components: list[dict[str, Any]],
    reason: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Decision:
    """The audit record of a decision on `job`, not saved yet."""
    return Decision(
        job=job,
        queue_id=job.queue_id,
        job_kind=job.kind,
        item_id=job.item_id,
        item_type_id=job.item_type_id,
        reviewer=user,
        reviewer_email=user.email if user else "",
        types=list(dict.fromkeys(str(c["type"]) for c in components)),
        action_ids=list(dict.fromkeys(a for c in components for a in c.get("actionIds", []))),
        policy_ids=list(dict.fromkeys(p for c in components for p in c.get("policyIds", []))),
        components=components,
        reason=reason,
        note=note,
        created_at=now or timezone.now(),
    )


def item_deleted(
    job: Job, refresh: bool = False, on_refresh_error: Callable[[str], None] | None = None
) -> bool:
    """Whether the job item's latest data has the `isDeleted` role set to true. `refresh`:
    asked from the platform first when partial items are configured (what it returns is
    stored as the item's latest data); when it does not answer, the stored data decides and
    the reason is logged and passed to `on_refresh_error` (the reviewer is told)."""
    item_type = ItemType.objects.filter(pk=job.item_type_id).only("roles").first()
    field = (item_type.roles or {}).get("isDeleted") if item_type else None
    if not field:
        return False
    item = job_item(job)
    if refresh and partial_items.configured():
        fetched = partial_items.fetch_items([item])
        found = fetched.data(item)
        if found is not None:
            return found.get(field) is True
        error = fetched.errors.get(item, fetched.error)
        logger.warning(
            "auto-close: %s/%s was not refreshed through partial items (%s); its stored "
            "data decides",
            item.item_type_id,
            item.item_id,
            error,
        )
        if on_refresh_error is not None:
            on_refresh_error(
                f"Coop could not ask the platform whether {item.item_type_id}/{item.item_id}"
                f" was deleted ({error}): this job was opened from the data Coop stores."
            )
    latest = history_of(item).values_list("data", flat=True).first()
    return isinstance(latest, dict) and latest.get(field) is True


def auto_close(job: Job, reason: str = "ITEM_DELETED_BEFORE_REVIEW") -> bool:
    """Close a pending job as AUTOMATIC_CLOSE (no side effects, no reviewer). False if the job
    was no longer pending."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None or locked.status != JobStatus.PENDING:
            return False
        now = timezone.now()
        record_decision(
            locked, None, [{"type": DecisionType.AUTOMATIC_CLOSE, "reason": reason}], now=now
        )
        close_job(locked, now)
    return True


__all__ = [
    "action_component",
    "auto_close",
    "build_decision",
    "close_job",
    "item_deleted",
    "record_decision",
    "wire",
]
