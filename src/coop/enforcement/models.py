"""Action executions, the webhook outbox (deliveries and their attempts) and user strikes."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from coop.catalog.models import ID_LENGTH
from coop.core.enums import DeliveryEvent, DeliveryStatus, ExecutionSource


class ActionExecution(models.Model):
    """One action executed on one item, whatever started it.

    `idempotency_key` (e.g. submission + rule versions + action) makes a re-run after a crash
    return this row instead of executing and delivering again; its uniqueness is kept by
    ExecutionKey, since the table is partitioned by month (coop.warehouse.partitions) and a
    unique index there would have to include `created_at`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action_id = models.CharField(max_length=ID_LENGTH)
    item_id = models.CharField(max_length=255)
    item_type_id = models.CharField(max_length=64)
    # No foreign key: submissions are written on the ingest hot path.
    submission_id = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=12, choices=ExecutionSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_email = models.EmailField(blank=True)
    policy_ids = ArrayField(models.CharField(max_length=ID_LENGTH), default=list, blank=True)
    rules = models.JSONField(default=list, blank=True, help_text="[{id, version, name}]")
    parameters = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    decision_reason = models.TextField(blank=True)
    refused_reason = models.TextField(
        blank=True, help_text="Why a built-in action could not act (e.g. the item has no author)"
    )
    # NULL for "no key", as under the unique index it had before partitioning.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["item_type_id", "item_id", "-created_at"], name="exec_item"),
            models.Index(fields=["-created_at"], name="exec_created"),
        ]

    def __str__(self) -> str:
        return f"{self.action_id} on {self.item_type_id}/{self.item_id}"


class ExecutionKey(models.Model):
    """The idempotency keys of action executions, unique across every month's partition.

    The key is inserted in the transaction that writes its execution: a concurrent run with
    the same key waits on it, then finds it taken. Deleted with its execution (retention deletes
    it when it drops that month: coop.warehouse.partitions).
    """

    key = models.CharField(max_length=255, primary_key=True)
    execution = models.OneToOneField(  # no database constraint: see Delivery.execution
        ActionExecution, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )


class Delivery(models.Model):
    """One outgoing webhook request in the outbox, committed with what caused it.

    `id` is the `Coop-Delivery-Id`, the same on every attempt. `body` holds the exact bytes
    sent and signed, serialised once. `headers` keep `{"secret": NAME}` references: secrets
    are resolved from the environment at send time and never stored in clear.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.CharField(max_length=24, choices=DeliveryEvent.choices)
    url = models.URLField(max_length=2000)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Failed attempts since creation or the last re-send: the position in the retry schedule.
    round_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_error = models.TextField(blank=True)
    # No constraint in the database: a foreign key to a partitioned table must name its whole
    # primary key, (id, created_at). Retention clears the link when the execution's month goes.
    execution = models.OneToOneField(
        ActionExecution,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="delivery",
        db_constraint=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status__in=["PENDING", "FAILED"]),
            ),
            models.Index(fields=["status", "-created_at"], name="delivery_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery and what came back."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_set")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True, help_text="At most 1 KB of the answer")
    retry_after_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="delivery_attempt_number")
        ]


class StrikeRecord(models.Model):
    """Strikes given to a user by one execution event, counted until `expires_at`."""

    user_id = models.CharField(max_length=255)
    user_type_id = models.CharField(max_length=64)
    weight = models.PositiveIntegerField()
    policy_id = models.CharField(max_length=ID_LENGTH)
    execution = models.ForeignKey(  # no database constraint: see Delivery.execution
        ActionExecution,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user_type_id", "user_id", "expires_at"], name="strike_user"),
        ]


class BulkJobStatus(models.TextChoices):
    DRAFT = "DRAFT"  # counted, shown for confirmation, nothing run
    RUNNING = "RUNNING"
    DONE = "DONE"


class BulkItemResult(models.TextChoices):
    PENDING = "PENDING"
    EXECUTED = "EXECUTED"
    UNKNOWN = "UNKNOWN", "Unknown item"
    REFUSED = "REFUSED"


class BulkActionJob(models.Model):
    """One bulk action (review.md, Bulk actions): the ids pasted, the actions chosen, and,
    once confirmed, its background run. `requests` holds the actions as chosen:
    `[{"actionId", "policyIds", "parameters"}]`, validated before the draft was saved."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item_type_id = models.CharField(max_length=64)
    requests = models.JSONField(default=list)
    reason = models.TextField(blank=True)
    status = models.CharField(
        max_length=8, choices=BulkJobStatus.choices, default=BulkJobStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_email = models.EmailField(blank=True)
    # The confirmation counts (what the person saw before confirming).
    given_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    unknown_count = models.PositiveIntegerField(default=0)
    other_type_count = models.PositiveIntegerField(default=0)
    fetched_count = models.PositiveIntegerField(default=0)
    fetch_error = models.TextField(blank=True)
    # Progress, committed with each chunk.
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"bulk {self.id} ({self.status}, {self.processed}/{self.total})"

    @property
    def known_count(self) -> int:
        """The distinct ids Coop stores: those the actions run on."""
        return self.total - self.unknown_count


class BulkActionItem(models.Model):
    """One id of a bulk action and what happened to it."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(BulkActionJob, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()  # order in the pasted list
    item_id = models.CharField(max_length=255)
    # The item's latest submission when the draft was made (None: not stored locally).
    submission_id = models.BigIntegerField(null=True, blank=True)
    result = models.CharField(
        max_length=8, choices=BulkItemResult.choices, default=BulkItemResult.PENDING
    )
    reason = models.TextField(blank=True)
    execution_ids = ArrayField(models.UUIDField(), default=list, blank=True)

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "item_id"], name="bulk_item_once"),
        ]
        indexes = [
            models.Index(
                fields=["job", "position"],
                name="bulk_item_pending",
                condition=models.Q(result="PENDING"),
            ),
        ]
