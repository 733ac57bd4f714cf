"""What Coop knows of its banks in an external HMA: names, sync state, pushed hashes.

A Coop HASH bank has one `HmaBank` once it has been synced. The HMA name is claimed here before
HMA is asked to create or rename anything, so two Coop banks never race for one HMA name and a
sync that crashed half-way finds where it was. Deleting the Coop bank keeps the row (its `bank`
becomes NULL) until the HMA bank is deleted too, so a failure there stays visible and retried.
Nothing read from HMA ever deletes one of these rows or a Coop bank: a bank HMA no longer has
is marked MISSING and waits for an administrator's "Re-create in HMA".
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from coop.catalog.models import Bank


class SyncStatus(models.TextChoices):
    PENDING = "PENDING", "Waiting to sync"
    SYNCED = "SYNCED", "In sync"
    ERROR = "ERROR", "Sync failed"
    MISSING = "MISSING", "Missing in HMA"
    DELETING = "DELETING", "Deleting in HMA"


class HmaBank(models.Model):
    bank = models.OneToOneField(
        Bank, null=True, blank=True, on_delete=models.SET_NULL, related_name="hma"
    )
    # The HMA bank this Coop bank owns (`COOP_<NAME>`), claimed before HMA is called.
    name = models.CharField(max_length=255, unique=True)
    # During a rename: the name the bank still has in HMA until HMA confirms the new one.
    renaming_from = models.CharField(max_length=255, blank=True)
    # HMA confirmed a bank of `name` (created, renamed or found).
    exists = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    error = models.TextField(blank=True)
    # The Coop bank version whose name, enabled flag, hashes and exchange are all in HMA.
    synced_version = models.PositiveIntegerField(null=True, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # The attached exchange: its HMA name (claimed like `name`; also the name of the HMA bank
    # it fills), its API, a digest of the API and config it was created with, whether HMA
    # confirmed it, and whether HMA later answered that it has no such exchange.
    exchange_name = models.CharField(max_length=255, blank=True)
    exchange_api = models.CharField(max_length=100, blank=True)
    exchange_digest = models.CharField(max_length=64, blank=True)
    exchange_exists = models.BooleanField(default=False)
    exchange_missing = models.BooleanField(default=False)
    # HMA's fetch status of the exchange as last read (`GET /c/exchange/<name>/status`).
    exchange_status = models.JSONField(null=True, blank=True)
    exchange_status_at = models.DateTimeField(null=True, blank=True)
    exchange_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def hma_names(self) -> list[str]:
        """The HMA banks whose matches count for the Coop bank: its own and its exchange's."""
        names = [self.name] if self.exists else []
        if self.exchange_exists and not self.exchange_missing:
            names.append(self.exchange_name)
        return names


class HmaSignal(models.Model):
    """A hash of the Coop bank added to its HMA bank, with HMA's content id (to remove it, and
    to name the hash a lookup matched)."""

    hma_bank = models.ForeignKey(HmaBank, on_delete=models.CASCADE, related_name="signals")
    value = models.CharField(max_length=64)
    content_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hma_bank", "value"], name="hma_signal_value"),
        ]
        indexes = [models.Index(fields=["hma_bank", "content_id"])]
