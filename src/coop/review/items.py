"""The items a job concerns: its own item, and the user it is about."""

from __future__ import annotations

from coop.catalog.models import ItemKind, ItemType
from coop.core.items import ItemRef
from coop.ingest.store import latest_for
from coop.review.models import Job


def job_item(job: Job) -> ItemRef:
    return ItemRef(job.item_id, job.item_type_id)


def subject_user(job: Job) -> ItemRef | None:
    """The user a job concerns: the item itself for USER items, else its author."""
    item_type = ItemType.objects.filter(pk=job.item_type_id).only("kind").first()
    if item_type is not None and item_type.kind == ItemKind.USER:
        return job_item(job)
    sub = job.submission
    if sub is None:
        sub = latest_for(job_item(job))
    if sub is not None and sub.creator_id and sub.creator_type_id:
        return ItemRef(sub.creator_id, sub.creator_type_id)
    return None


def related_target(job: Job) -> ItemRef | None:
    """Related actions apply to the job's author (not to USER items, which are the author)."""
    subject = subject_user(job)
    if subject is None or subject == job_item(job):
        return None
    return subject
