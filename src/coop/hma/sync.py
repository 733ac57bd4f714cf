"""Bringing a Coop HASH bank's counterpart in HMA up to date, one idempotent step at a time.

`sync_bank` makes HMA's bank match the Coop bank: created (or found) under its claimed name,
renamed in place when the Coop name changes (HMA's PUT keeps the contents), enabled as the Coop
bank is, holding exactly the Coop bank's hashes, and with the Coop bank's exchange attached.
Each HMA call is followed by a commit of what it achieved, so a crash or a retry starts from
what is already done. What HMA says is never a reason to delete anything in Coop: a bank or
exchange HMA does not have is marked missing and waits for `recreate`.

Failures are recorded on the HmaBank row (status ERROR, the message) for the bank page; an HMA
that gave no answer or a 5xx raises `RetryLater` so the task is retried with backoff.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from coop.catalog.credentials import CredentialError, resolve_credential
from coop.catalog.models import Bank, BankKind
from coop.hma import names
from coop.hma.client import HmaClient, HmaError, HmaNotFound
from coop.hma.models import HmaBank, HmaSignal, SyncStatus

# HMA calls adding or removing hashes in one task run; the task defers itself for the rest.
PUSH_BATCH = 500


class RetryLater(Exception):
    """HMA gave no answer or failed on its side: the error is recorded, try again later."""


class Missing(Exception):
    """HMA answered that it does not have the bank Coop synced there."""


@dataclass(frozen=True)
class Outcome:
    status: str
    more: bool = False  # hashes are left to push: run again


def _retryable(error: HmaError) -> bool:
    return error.status is None or error.status >= 500


def _taken(exclude: int | None = None) -> set[str]:
    """Every HMA name claimed by a Coop bank: banks, banks being renamed, exchanges."""
    rows = HmaBank.objects.exclude(pk=exclude).values_list("name", "renaming_from", "exchange_name")
    return {value for row in rows for value in row if value}


def _save(state: HmaBank, **fields: Any) -> None:
    for key, value in fields.items():
        setattr(state, key, value)
    state.save(update_fields=list(fields))


def claim(bank: Bank) -> HmaBank:
    """The bank's HmaBank, created with a claimed name (`COOP_<NAME>`, `_2`... if taken)."""
    with transaction.atomic():
        state = HmaBank.objects.select_for_update().filter(bank=bank).first()
        if state is None:
            wanted = names.bank_name(bank.name, bank.pk)
            state = HmaBank.objects.create(bank=bank, name=names.unclaimed(wanted, _taken()))
        return state


def sync_bank(hma: HmaClient, bank_id: str) -> Outcome | None:
    """One sync run for the bank (None: it is gone or no longer a HASH bank)."""
    bank = Bank.objects.filter(pk=bank_id, kind=BankKind.HASH).first()
    if bank is None:
        return None
    state = claim(bank)
    if state.status == SyncStatus.MISSING:
        return Outcome(state.status)
    _save(state, attempted_at=timezone.now())
    try:
        _ensure_bank(hma, state, bank)
        more = _push_hashes(hma, state, bank)
        _sync_exchange(hma, state, bank)
    except Missing as exc:
        _save(state, status=SyncStatus.MISSING, error=str(exc))
        return Outcome(state.status)
    except CredentialError as exc:
        _save(state, status=SyncStatus.ERROR, error=f"exchange credentials: {exc}")
        return Outcome(state.status)
    except HmaError as exc:
        _save(state, status=SyncStatus.ERROR, error=exc.message)
        if _retryable(exc):
            raise RetryLater(exc.message) from exc
        return Outcome(state.status)
    if more:
        _save(state, status=SyncStatus.PENDING, error="")
        return Outcome(state.status, more=True)
    _save(
        state,
        status=SyncStatus.SYNCED,
        error="",
        synced_version=bank.version,
        synced_at=timezone.now(),
    )
    return Outcome(state.status)


def _ensure_bank(hma: HmaClient, state: HmaBank, bank: Bank) -> None:
    """Create, rename or update the HMA bank so it exists as `state.name`, enabled as `bank`."""
    if state.renaming_from:
        _finish_rename(hma, state, bank)
    wanted = names.bank_name(bank.name, bank.pk)
    if not names.is_variant(state.name, wanted):
        new = names.unclaimed(wanted, _taken(exclude=state.pk))
        if state.exists:
            _save(state, renaming_from=state.name, name=new)
            _finish_rename(hma, state, bank)
            return
        _save(state, name=new)
    if not state.exists:
        try:
            hma.create_bank(state.name, enabled=bank.enabled)
        except HmaError as exc:
            if exc.status != 403:  # 403: it exists already (an earlier run created it)
                raise
            hma.update_bank(state.name, enabled=bank.enabled)
        _save(state, exists=True)
        return
    try:
        hma.update_bank(state.name, enabled=bank.enabled)
    except HmaNotFound:
        raise Missing(f"HMA has no bank {state.name} any more") from None


def _finish_rename(hma: HmaClient, state: HmaBank, bank: Bank) -> None:
    """Rename the HMA bank from `renaming_from` to `name` (in place: HMA keeps its contents)."""
    try:
        hma.update_bank(state.renaming_from, new_name=state.name, enabled=bank.enabled)
    except HmaNotFound:
        try:  # renamed by an earlier run that could not record it
            hma.update_bank(state.name, enabled=bank.enabled)
        except HmaNotFound:
            raise Missing(
                f"HMA has no bank {state.renaming_from} (nor {state.name}) any more"
            ) from None
    _save(state, renaming_from="", exists=True)


def _push_hashes(hma: HmaClient, state: HmaBank, bank: Bank) -> bool:
    """Add the bank's new hashes to HMA and remove those it no longer has, at most PUSH_BATCH
    calls; whether work is left."""
    values = list(bank.entries.order_by("position").values_list("value", flat=True))
    wanted = set(values)
    pushed = dict(state.signals.values_list("value", "content_id"))
    removals = [(value, cid) for value, cid in pushed.items() if value not in wanted]
    additions = [value for value in dict.fromkeys(values) if value not in pushed]
    budget = PUSH_BATCH
    for value, content_id in removals[:budget]:
        with contextlib.suppress(HmaNotFound):  # gone already
            hma.delete_content(state.name, content_id)
        HmaSignal.objects.filter(hma_bank=state, value=value).delete()
        budget -= 1
    signal_type = bank.signal_type or "pdq"
    for value in additions[: max(budget, 0)]:
        content_id = _add_signal(hma, state, signal_type, value)
        HmaSignal.objects.create(hma_bank=state, value=value, content_id=content_id)
        budget -= 1
    return len(removals) + len(additions) > PUSH_BATCH


def _add_signal(hma: HmaClient, state: HmaBank, signal_type: str, value: str) -> int:
    try:
        return hma.add_signal(state.name, signal_type, value)
    except HmaNotFound:
        raise Missing(f"HMA has no bank {state.name} any more") from None


def exchange_digest(exchange: dict[str, Any]) -> str:
    """What an exchange was created from: its API and config (HMA cannot change either)."""
    text = json.dumps(
        {"api": exchange["api"], "config": exchange.get("config") or {}}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _clear_exchange(state: HmaBank) -> None:
    _save(
        state,
        exchange_name="",
        exchange_api="",
        exchange_digest="",
        exchange_exists=False,
        exchange_missing=False,
        exchange_status=None,
        exchange_status_at=None,
        exchange_error="",
    )


def _sync_exchange(hma: HmaClient, state: HmaBank, bank: Bank) -> None:
    """Attach, replace or detach the bank's exchange; send its credentials; read its status.

    HMA can neither reconfigure nor rename an exchange, so a changed API or config replaces
    it (the new one fetches again). Credentials are sent on every sync: a `!secret` variable's
    value may have changed without the file changing."""
    wanted = bank.exchange
    if state.exchange_name and (not wanted or exchange_digest(wanted) != state.exchange_digest):
        if state.exchange_exists:
            with contextlib.suppress(HmaNotFound):
                hma.delete_exchange(state.exchange_name)
        _clear_exchange(state)
    if not wanted:
        return
    api, config = wanted["api"], wanted.get("config") or {}
    credentials = wanted.get("credentials") or {}
    if credentials:
        clear = {key: resolve_credential(value) for key, value in credentials.items()}
        hma.set_exchange_credentials(api, clear)
    if state.exchange_missing:
        return  # waits for "Re-create in HMA"
    if not state.exchange_name:
        name = names.unclaimed(names.exchange_name(state.name, api), _taken(exclude=state.pk))
        _save(state, exchange_name=name, exchange_api=api, exchange_digest=exchange_digest(wanted))
    if not state.exchange_exists:
        try:
            hma.get_exchange(state.exchange_name)
        except HmaNotFound:
            hma.create_exchange(state.exchange_name, api, config)
        _save(state, exchange_exists=True)
    try:
        hma.update_bank(state.exchange_name, enabled=bank.enabled)
    except HmaNotFound:
        _save(state, exchange_missing=True, exchange_error="HMA has no exchange bank any more")
        return
    refresh_exchange_status(hma, state)


def refresh_exchange_status(hma: HmaClient, state: HmaBank) -> None:
    """Read the exchange's fetch status into the row (a read: it changes nothing else)."""
    if not state.exchange_exists:
        return
    try:
        status = hma.exchange_status(state.exchange_name)
    except HmaNotFound:
        _save(state, exchange_missing=True, exchange_error="HMA has no such exchange any more")
        return
    except HmaError as exc:
        _save(state, exchange_error=exc.message)
        return
    _save(
        state,
        exchange_status=status,
        exchange_status_at=timezone.now(),
        exchange_error="",
        exchange_missing=False,
    )


def remove_bank(hma: HmaClient, state_id: int) -> bool:
    """Delete in HMA what a deleted Coop bank had there, then forget it; whether it is done."""
    state = HmaBank.objects.filter(pk=state_id, bank__isnull=True).first()
    if state is None:
        return True
    _save(state, attempted_at=timezone.now())
    try:
        if state.exchange_name and state.exchange_exists:
            with contextlib.suppress(HmaNotFound):
                hma.delete_exchange(state.exchange_name)
        for name in {state.name, state.renaming_from} - {""}:
            hma.delete_bank(name)  # HMA answers 200 for a bank it does not have
    except HmaError as exc:
        _save(state, status=SyncStatus.ERROR, error=exc.message)
        if _retryable(exc):
            raise RetryLater(exc.message) from exc
        return False
    state.delete()
    return True


def recreate(bank: Bank) -> HmaBank | None:
    """Forget what HMA lost (the bank, its exchange) so the next sync creates it again and
    pushes every hash."""
    state = HmaBank.objects.filter(bank=bank).first()
    if state is None:
        return None
    with transaction.atomic():
        if state.status == SyncStatus.MISSING:
            state.signals.all().delete()
            _save(state, exists=False, renaming_from="", status=SyncStatus.PENDING, error="")
        if state.exchange_missing:
            _clear_exchange(state)
    return state
