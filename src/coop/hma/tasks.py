"""The background side of HMA sync: tasks deferred with the configuration change, and a sweep.

A HASH bank written or deleted by the configuration writer defers its sync task in the same
transaction (`bank_saved`, `bank_deleted`): the job exists exactly when the change committed,
and HMA is only called by the worker, after the commit, never inside the apply. The periodic
sweep catches up banks that were configured before HMA was, reads exchange fetch statuses and
restarts removals whose task was lost.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from coop.catalog.models import Bank, BankKind
from coop.hma import sync
from coop.hma.client import client, configured
from coop.hma.models import HmaBank, SyncStatus
from coop.queueing import in_transaction
from coop.tasks import housekeeping_cron

log = logging.getLogger(__name__)

RETRY = RetryStrategy(max_attempts=8, exponential_wait=2, retry_exceptions=[sync.RetryLater])
# A pending sync or removal this old without having been attempted is deferred again.
STALE_AFTER = timedelta(minutes=10)


def _lock(bank_id: str) -> str:
    return f"hma-bank:{bank_id}"


@app.task(name="coop.hma_sync_bank", queue="hma", retry=RETRY)
def sync_bank(bank_id: str) -> None:
    outcome = sync.sync_bank(client(), bank_id)
    if outcome is not None and outcome.more:
        defer_sync(bank_id)


@app.task(name="coop.hma_remove_bank", queue="hma", retry=RETRY)
def remove_bank(state_id: int) -> None:
    sync.remove_bank(client(), state_id)


def defer_sync(bank_id: str) -> None:
    """Sync the bank after the current transaction commits (at once outside one)."""
    in_transaction(sync_bank, lock=_lock(bank_id)).defer(bank_id=bank_id)


def bank_saved(bank: Bank) -> None:
    """Called by the configuration writer after a bank is written, in its transaction."""
    state = HmaBank.objects.filter(bank=bank).first()
    if bank.kind != BankKind.HASH:
        if state is not None:  # no longer a HASH bank: its HMA bank goes
            _detach(state, bank.pk)
        return
    if state is not None and state.status != SyncStatus.MISSING:
        HmaBank.objects.filter(pk=state.pk).update(status=SyncStatus.PENDING)
    if configured():
        defer_sync(bank.pk)


def bank_deleted(bank_id: str) -> None:
    """Called by the configuration writer before a bank is deleted, in its transaction."""
    state = HmaBank.objects.filter(bank_id=bank_id).first()
    if state is not None:
        _detach(state, bank_id)


def _detach(state: HmaBank, bank_id: str) -> None:
    HmaBank.objects.filter(pk=state.pk).update(bank=None, status=SyncStatus.DELETING, error="")
    if configured():
        in_transaction(remove_bank, lock=_lock(bank_id)).defer(state_id=state.pk)


def retry(bank: Bank) -> None:
    """The console's "Retry" and "Re-create in HMA": forget what HMA lost, sync again."""
    with transaction.atomic():
        sync.recreate(bank)
        HmaBank.objects.filter(bank=bank).update(status=SyncStatus.PENDING, error="")
        defer_sync(bank.pk)


def retry_removal(state: HmaBank) -> None:
    with transaction.atomic():
        HmaBank.objects.filter(pk=state.pk).update(status=SyncStatus.DELETING, error="")
        in_transaction(remove_bank).defer(state_id=state.pk)


@app.periodic(cron=housekeeping_cron(), periodic_id="hma-sweep")
@app.task(name="coop.hma_sweep", queue="hma")
def sweep(timestamp: int) -> None:
    """Every COOP_HOUSEKEEPING_SECONDS, when HMA is configured: sync HASH banks HMA has never
    seen, defer again what waited too long, and read the exchanges' fetch statuses."""
    if not configured():
        return
    stale = timezone.now() - STALE_AFTER
    with transaction.atomic():
        for bank_id in Bank.objects.filter(kind=BankKind.HASH, hma__isnull=True).values_list(
            "pk", flat=True
        ):
            defer_sync(bank_id)
        waiting = HmaBank.objects.filter(attempted_at__lt=stale) | HmaBank.objects.filter(
            attempted_at__isnull=True
        )
        for state in waiting.filter(status=SyncStatus.PENDING, bank__isnull=False):
            defer_sync(state.bank_id)
        for state in waiting.filter(status=SyncStatus.DELETING):
            in_transaction(remove_bank).defer(state_id=state.pk)
    hma = client()
    for state in HmaBank.objects.filter(exchange_exists=True, exchange_missing=False):
        sync.refresh_exchange_status(hma, state)
