"""Child-safety (NCMEC) requests (review.md, NCMEC). The review flow that works them comes later."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from coop.core.enums import Choices, NcmecReportStatus, NcmecStatus


class NcmecRequest(models.Model):
    """A user (and their media) to be reviewed for an NCMEC report.

    One pending request per user: further entry points for the same user merge into it.
    `reason` says, in words an operator can act on, why the request is still waiting.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.CharField(max_length=255)
    user_type_id = models.CharField(max_length=64)
    item_id = models.CharField(max_length=255, help_text="The item that led to the request")
    item_type_id = models.CharField(max_length=64)
    source = models.CharField(max_length=16)
    status = models.CharField(
        max_length=10, choices=NcmecStatus.choices, default=NcmecStatus.PENDING
    )
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user_type_id", "user_id"],
                condition=models.Q(status="PENDING"),
                name="one_pending_ncmec_request_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"NCMEC {self.user_type_id}/{self.user_id} ({self.status})"


class NcmecReport(models.Model):
    """One CyberTip report for one user: the reviewer's draft and its submission's progress.

    The worker's state machine (coop.childsafety.submission) advances `step` and records each
    step it completes in NcmecReportStep; a failure leaves `status=FAILED` at the failed step,
    and Retry resumes there.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.CharField(max_length=255)
    user_type_id = models.CharField(max_length=64)
    job = models.ForeignKey(
        "review.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    draft = models.JSONField(help_text="The ReportDraft (coop.childsafety.drafts) as JSON")
    status = models.CharField(
        max_length=10, choices=NcmecReportStatus.choices, default=NcmecReportStatus.QUEUED
    )
    step = models.CharField(max_length=32, blank=True, help_text="The next or failed step")
    is_test = models.BooleanField(help_text="Filed with NCMEC's test environment")
    report_id = models.CharField(max_length=64, blank=True, help_text="NCMEC's report id")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The state machine's position within `step` (which media item or thread), and its record.
    step_index = models.PositiveIntegerField(default=0)
    attempt = models.PositiveIntegerField(
        default=0, help_text="/submit requests sent for this report"
    )
    retries = models.PositiveIntegerField(
        default=0, help_text="Automatic retries used since the report was queued or retried"
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    needs_retract = models.BooleanField(
        default=False, help_text="The open report cannot be finished: retract it first"
    )
    additional_info = models.JSONField(
        null=True, blank=True, help_text="The platform's additional-info answer"
    )
    report_xml = models.TextField(blank=True)
    files = models.JSONField(default=list, blank=True, help_text="Files attached at NCMEC")
    retracted_report_ids = models.JSONField(default=list, blank=True)
    receipt = models.TextField(blank=True, help_text="NCMEC's answer to /finish")
    submitted_at = models.DateTimeField(null=True, blank=True)
    preservation = models.ForeignKey(
        "enforcement.Delivery",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The preservation request in the webhook outbox",
    )
    preservation_alerted = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user_type_id", "user_id"]),
            models.Index(fields=["reviewer", "status"], name="ncmec_report_reviewer"),
        ]

    def __str__(self) -> str:
        return f"NCMEC report {self.report_id or self.id} ({self.status})"


class NcmecStepStatus(Choices):
    STARTED = "STARTED"  # running, or interrupted by a crash
    DONE = "DONE"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class NcmecReportStep(models.Model):
    """One step of filing a report, as it happened: the report page's step log."""

    id = models.BigAutoField(primary_key=True)
    report = models.ForeignKey(NcmecReport, on_delete=models.CASCADE, related_name="steps")
    attempt = models.PositiveIntegerField(help_text="Which report opened at NCMEC it belongs to")
    step = models.CharField(max_length=32)
    index = models.PositiveIntegerField(default=0)
    label = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=NcmecStepStatus.choices)
    detail = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.label}: {self.status}"
