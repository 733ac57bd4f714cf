"""Child-safety records (review.md, NCMEC): what a user-level NCMEC job holds, and the CyberTip
reports filed from them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from coop.core.enums import Choices, NcmecReportStatus


class NcmecCase(models.Model):
    """What a user-level NCMEC job holds beyond its user (review.md, NCMEC): the items that
    led to it, and the user's media and threads as gathered for the reviewer.

    `entries` lists the distinct items every entry point named, in the order they came (the
    reported item first). `media` and `threads` are gathered from the stored submissions
    (coop.childsafety.gathering) when the reviewer opens the job and again after a new entry
    (`stale`); `version` counts the gatherings, so a decision made on an older list is
    refused instead of misapplied.
    """

    job = models.OneToOneField(
        "review.Job", primary_key=True, on_delete=models.CASCADE, related_name="ncmec_case"
    )
    entries = models.JSONField(default=list, help_text="[{id, typeId, source, at}]")
    entry_count = models.PositiveIntegerField(default=0, help_text="Every entry, merged ones too")
    media = models.JSONField(default=list, help_text="[{item, url, kind, field, reported}]")
    media_total = models.PositiveIntegerField(default=0, help_text="Media found, beyond the cap")
    media_scan_complete = models.BooleanField(default=True)
    threads = models.JSONField(default=list, help_text="[{thread, messages: [...], more}]")
    version = models.PositiveIntegerField(default=0)
    stale = models.BooleanField(default=True, help_text="Gather again before showing")
    gathered_at = models.DateTimeField(null=True, blank=True)
    missing_data = models.TextField(
        blank=True,
        default="",
        help_text="Why items Coop has no data for are still missing (partial items)",
    )

    def __str__(self) -> str:
        return f"NCMEC case of job {self.job_id}"


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
