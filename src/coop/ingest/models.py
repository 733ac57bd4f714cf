from __future__ import annotations

from django.db import models
from django.utils import timezone

from coop.core.enums import SubmissionSource


class ItemSubmission(models.Model):
    """One submission of one item's data, as received. Items are identified by (type, id).

    The history that investigation, thread context and user-level review read. Written on the
    ingest hot path, so it has no foreign keys: the item type is validated before insert.
    """

    id = models.BigAutoField(primary_key=True)
    item_id = models.CharField(max_length=255)
    item_type_id = models.CharField(max_length=64)
    item_type_version = models.PositiveIntegerField()
    data = models.JSONField()
    source = models.CharField(max_length=16, choices=SubmissionSource.choices)
    creator_id = models.CharField(max_length=255, null=True, blank=True)
    creator_type_id = models.CharField(max_length=64, null=True, blank=True)
    thread_id = models.CharField(max_length=255, null=True, blank=True)
    thread_type_id = models.CharField(max_length=64, null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["item_type_id", "item_id", "-submitted_at"], name="sub_item"),
            models.Index(
                fields=["creator_type_id", "creator_id", "-submitted_at"],
                name="sub_creator",
                condition=models.Q(creator_id__isnull=False),
            ),
            models.Index(
                fields=["thread_type_id", "thread_id", "-submitted_at"],
                name="sub_thread",
                condition=models.Q(thread_id__isnull=False),
            ),
            models.Index(
                fields=["ip_address"], name="sub_ip", condition=models.Q(ip_address__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_type_id}/{self.item_id} #{self.id}"
