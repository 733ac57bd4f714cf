"""Queues, review jobs, and the reports and appeals that create them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from coop.catalog.models import ID_LENGTH, ConfigObject
from coop.core.enums import (
    ClearDisposition,
    ClearScope,
    DecisionSource,
    JobKind,
    JobSource,
    JobStatus,
    QueueOrder,
)
from coop.core.enums import DecisionType as DecisionType


class Queue(ConfigObject):
    description = models.TextField(blank=True)
    # One default queue and one default appeals queue always exist (created by migration).
    is_default = models.BooleanField(default=False)
    is_appeals = models.BooleanField(default=False)
    order = models.CharField(max_length=12, choices=QueueOrder.choices, default=QueueOrder.FIFO)
    hidden_actions = ArrayField(models.CharField(max_length=ID_LENGTH), default=list, blank=True)
    auto_close_deleted = models.BooleanField(default=False)
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="queues")
    # Clear other reports (review.md): when a decision runs one of the trigger actions, the
    # item's other pending jobs (in this queue or in all queues) are closed too.
    clear_disposition = models.CharField(
        max_length=16, choices=ClearDisposition.choices, default=ClearDisposition.NONE, blank=True
    )
    clear_scope = models.CharField(
        max_length=12, choices=ClearScope.choices, default=ClearScope.THIS_QUEUE
    )
    clear_trigger_actions = ArrayField(
        models.CharField(max_length=ID_LENGTH), default=list, blank=True
    )

    class Meta(ConfigObject.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["is_appeals"],
                condition=models.Q(is_default=True),
                name="one_default_queue_per_kind",
            )
        ]


class Job(models.Model):
    """One item waiting for a decision in one queue.

    Claims and decisions update a job without HOT (indexed columns change), so each index
    costs every one of them an entry: the foreign keys get only the indexes they need."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="jobs", db_index=False)
    kind = models.CharField(max_length=10, choices=JobKind.choices, default=JobKind.DEFAULT)
    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.PENDING)
    item_id = models.CharField(max_length=255)
    item_type_id = models.CharField(max_length=64)
    submission = models.ForeignKey(
        "ingest.ItemSubmission",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The latest known data of the item.",
    )
    source = models.CharField(max_length=10, choices=JobSource.choices)
    policy_ids = ArrayField(models.CharField(max_length=ID_LENGTH), default=list, blank=True)
    report_count = models.PositiveIntegerField(default=0)
    priority = models.FloatField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    lease_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # job_lease_owner
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The claim's ORDER BY of each queue order, `id` included: the claim then reads the
        # index in order and stops at the first free row (no sort of a batch of candidates).
        indexes = [
            models.Index(
                fields=["queue", "created_at", "id"],
                name="job_pending_fifo",
                condition=models.Q(status="PENDING"),
            ),
            models.Index(
                models.F("queue"),
                models.F("report_count").desc(),
                models.F("created_at"),
                models.F("id"),
                name="job_pending_most_reports",
                condition=models.Q(status="PENDING"),
            ),
            models.Index(
                models.F("queue"),
                models.F("priority").desc(),
                models.F("created_at"),
                models.F("id"),
                name="job_pending_priority",
                condition=models.Q(status="PENDING"),
            ),
            # Only held jobs have a lease owner (closing a job clears it): the claim's "mine"
            # and the user deletion's SET_NULL both find them here.
            models.Index(
                fields=["lease_owner", "queue"],
                name="job_lease_owner",
                condition=models.Q(lease_owner__isnull=False),
            ),
            models.Index(fields=["queue"], name="job_queue"),  # no LIKE twin
            models.Index(fields=["item_type_id", "item_id"], name="job_item"),
        ]
        constraints = [
            # Reports and rule hits on an item with a pending job in the queue merge into it.
            models.UniqueConstraint(
                fields=["queue", "item_type_id", "item_id", "kind"],
                condition=models.Q(status="PENDING"),
                name="one_pending_job_per_item_and_queue",
            )
        ]


class Report(models.Model):
    """A user report of an item (POST /api/v1/report). `id` is the reportId on the wire."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="reports")
    reporter_kind = models.CharField(max_length=20, default="user")
    reporter_type_id = models.CharField(max_length=64)
    reporter_id = models.CharField(max_length=255)
    reported_at = models.DateTimeField()
    policy_id = models.CharField(max_length=ID_LENGTH, blank=True)
    reason = models.TextField(blank=True)
    csam = models.BooleanField(default=False)
    item_id = models.CharField(max_length=255)
    item_type_id = models.CharField(max_length=64)
    submission = models.ForeignKey(
        "ingest.ItemSubmission", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    thread = models.JSONField(default=list, blank=True, help_text="[{id, typeId}] in order")
    items_in_thread = models.JSONField(default=list, blank=True)
    additional_items = models.JSONField(default=list, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["reporter_type_id", "reporter_id"], name="report_reporter")]


class Appeal(models.Model):
    """An appeal of actions taken on an item (POST /api/v1/report/appeal)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    appeal_id = models.CharField(max_length=255, unique=True, help_text="The platform's id")
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="appeals")
    appealed_by_type_id = models.CharField(max_length=64)
    appealed_by_id = models.CharField(max_length=255)
    appealed_at = models.DateTimeField()
    item_id = models.CharField(max_length=255)
    item_type_id = models.CharField(max_length=64)
    submission = models.ForeignKey(
        "ingest.ItemSubmission", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actions_taken = ArrayField(models.CharField(max_length=ID_LENGTH), default=list)
    reason = models.TextField(blank=True)
    violating_policies = ArrayField(
        models.CharField(max_length=ID_LENGTH), default=list, blank=True
    )
    additional_items = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


class QueueStar(models.Model):
    """A queue a user starred: listed first on their queues page."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="stars")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "queue"], name="one_star_per_user_and_queue")
        ]


class Skip(models.Model):
    """A reviewer skipped a job (logged, exported; the job is not offered to them again while
    they have other jobs to take). `queue_id` is the job's queue at the time of the skip."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="skips")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    queue_id = models.CharField(max_length=ID_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "job"], name="skip_user_job"),
            models.Index(fields=["-created_at"], name="skip_created"),
        ]


class Decision(models.Model):
    """The audit record of one decision on a job (Recent Decisions).

    `components` is the full list `[{"type", "actionIds"?, "policyIds"?, "itemRef"?, ...}]`;
    `types`, `action_ids` and `policy_ids` repeat what it holds, flat, for filtering. The
    queue is kept by id (no foreign key): the record outlives a deleted queue. `reviewer` is
    None for automatic closes. `source` says where it was taken: REVIEW for decisions on jobs;
    API (and later BULK, INVESTIGATION...) for manual actions taken outside a job, which have
    no job, no queue and whose `reviewer` is the acting user when known.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No single-column indexes on the foreign keys: decision_job and decision_reviewer lead
    # with them, and every decision writes one index entry less each.
    job = models.ForeignKey(
        Job,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
        db_index=False,
    )
    queue_id = models.CharField(max_length=ID_LENGTH, blank=True)
    job_kind = models.CharField(max_length=10, choices=JobKind.choices, default=JobKind.DEFAULT)
    item_id = models.CharField(max_length=255)
    item_type_id = models.CharField(max_length=64)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    reviewer_email = models.EmailField(blank=True)
    source = models.CharField(
        max_length=16, choices=DecisionSource.choices, default=DecisionSource.REVIEW
    )
    types = ArrayField(models.CharField(max_length=20), default=list)
    action_ids = ArrayField(models.CharField(max_length=ID_LENGTH), default=list, blank=True)
    policy_ids = ArrayField(models.CharField(max_length=ID_LENGTH), default=list, blank=True)
    components = models.JSONField(default=list)
    reason = models.TextField(blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["-created_at"], name="decision_created"),
            models.Index(fields=["job", "-created_at"], name="decision_job"),
            models.Index(fields=["queue_id", "-created_at"], name="decision_queue"),
            models.Index(fields=["reviewer", "-created_at"], name="decision_reviewer"),
            models.Index(fields=["source", "-created_at"], name="decision_source"),
            GinIndex(fields=["types"], name="decision_types"),
            GinIndex(fields=["action_ids"], name="decision_actions"),
            GinIndex(fields=["policy_ids"], name="decision_policies"),
        ]


class Comment(models.Model):
    """An internal comment of a reviewer. Comments follow the item: every job on the same
    item (any queue, any time) shows them. Never sent to the platform."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    item_id = models.CharField(max_length=255)
    item_type_id = models.CharField(max_length=64)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["item_type_id", "item_id", "created_at"], name="comment_item")
        ]
