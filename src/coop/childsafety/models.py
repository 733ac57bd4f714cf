"""Child-safety (NCMEC) requests (review.md, NCMEC). The review flow that works them comes later."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from coop.core.enums import NcmecStatus


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
