"""Child-safety records (review.md, NCMEC): what a user-level NCMEC job holds, and the CyberTip
reports filed from them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from coop.core.enums import NcmecReportStatus


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

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user_type_id", "user_id"])]

    def __str__(self) -> str:
        return f"NCMEC report {self.report_id or self.id} ({self.status})"
