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


class ImageHash(models.Model):
    """The PDQ hash of one image's bytes, computed once per content digest.

    Images are keyed by the SHA-256 of their bytes, so the same picture posted under many
    URLs or in many submissions is decoded and hashed once.
    """

    sha256 = models.CharField(primary_key=True, max_length=64)
    pdq = models.CharField(max_length=64)
    quality = models.PositiveSmallIntegerField()
    hashed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} pdq {self.pdq[:12]}… q{self.quality}"


class SubmissionImage(models.Model):
    """An image of a submission as the worker fetched it: its URL and what its bytes were.

    Re-evaluation, investigation and NCMEC reports read the hash from here instead of
    fetching the URL again (whose content may have changed since).
    """

    submission = models.ForeignKey(ItemSubmission, on_delete=models.CASCADE, related_name="images")
    url = models.TextField()
    image = models.ForeignKey(ImageHash, on_delete=models.PROTECT, related_name="submissions")
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "url"], name="submission_image_url")
        ]

    def __str__(self) -> str:
        return f"#{self.submission_id} {self.url}"
