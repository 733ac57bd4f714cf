"""Queues, review jobs, and the reports and appeals that create them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from coop.catalog.models import ID_LENGTH, ConfigObject


class QueueOrder(models.TextChoices):
    FIFO = "FIFO"
    MOST_REPORTS = "MOST_REPORTS"
    PRIORITY = "PRIORITY"


class Queue(ConfigObject):
    description = models.TextField(blank=True)
    # One default queue and one default appeals queue always exist (created by migration).
    is_default = models.BooleanField(default=False)
    is_appeals = models.BooleanField(default=False)
    order = models.CharField(max_length=12, choices=QueueOrder.choices, default=QueueOrder.FIFO)
    hidden_actions = ArrayField(models.CharField(max_length=ID_LENGTH), default=list, blank=True)
    auto_close_deleted = models.BooleanField(default=False)
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="queues")

    class Meta(ConfigObject.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["is_appeals"],
                condition=models.Q(is_default=True),
                name="one_default_queue_per_kind",
            )
        ]


class JobKind(models.TextChoices):
    DEFAULT = "DEFAULT"
    APPEAL = "APPEAL"
    NCMEC = "NCMEC"


class JobSource(models.TextChoices):
    REPORT = "REPORT"
    RULE = "RULE"
    APPEAL = "APPEAL"
    MANUAL = "MANUAL"
    API = "API"
    MOVE = "MOVE"


class JobStatus(models.TextChoices):
    PENDING = "PENDING"
    DECIDED = "DECIDED"
    INVALIDATED = "INVALIDATED"


class Job(models.Model):
    """One item waiting for a decision in one queue."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="jobs")
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
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["queue", "created_at"],
                name="job_pending_fifo",
                condition=models.Q(status="PENDING"),
            ),
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
