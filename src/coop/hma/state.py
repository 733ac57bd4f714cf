"""What the console shows of a bank's life in HMA: sync state, last error, exchange status.

Read from Coop's own records only (what the last sync and status read found), so a bank page
renders without calling HMA.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from coop.catalog.credentials import describe_credential
from coop.catalog.models import Bank
from coop.hma.client import configured
from coop.hma.models import HmaBank, SyncStatus

TONES = {
    SyncStatus.SYNCED: "ok",
    SyncStatus.PENDING: "warn",
    SyncStatus.DELETING: "warn",
    SyncStatus.ERROR: "danger",
    SyncStatus.MISSING: "danger",
}


@dataclass(frozen=True)
class ExchangeView:
    api: str
    config: dict[str, Any]
    credentials: list[tuple[str, str]]  # (field, where the value comes from): never the value
    name: str  # in HMA; "" until synced
    exists: bool
    missing: bool
    error: str
    status: dict[str, Any] | None
    status_at: datetime | None

    @property
    def last_fetch(self) -> datetime | None:
        return _moment((self.status or {}).get("last_fetch_complete_ts"))

    @property
    def fetching_since(self) -> datetime | None:
        return _moment((self.status or {}).get("running_fetch_start_ts"))


@dataclass(frozen=True)
class SyncView:
    status: str  # a SyncStatus, or "" when the bank has never been synced
    label: str
    tone: str  # ok | warn | danger | "" (for the badge)
    name: str  # the HMA bank's name
    error: str
    attempted_at: datetime | None
    synced_at: datetime | None
    pushed: int
    total: int
    exchange: ExchangeView | None

    @property
    def missing(self) -> bool:
        return self.status == SyncStatus.MISSING


def _moment(seconds: Any) -> datetime | None:
    if not isinstance(seconds, int | float) or seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _label(state: HmaBank | None, bank: Bank) -> tuple[str, str, str]:
    if state is None:
        return "", "Not synced yet", "warn"
    if state.status == SyncStatus.SYNCED and state.synced_version != bank.version:
        return SyncStatus.PENDING, SyncStatus.PENDING.label, "warn"
    return state.status, SyncStatus(state.status).label, TONES[SyncStatus(state.status)]


def badge(state: HmaBank | None, bank: Bank) -> tuple[str, str]:
    """The list page's (label, tone) for a bank."""
    _, label, tone = _label(state, bank)
    return label, tone


def sync_view(bank: Bank) -> SyncView | None:
    """The bank page's HMA panel, or None when HMA is not configured."""
    if not configured():
        return None
    state = HmaBank.objects.filter(bank=bank).first()
    status, label, tone = _label(state, bank)
    return SyncView(
        status=status,
        label=label,
        tone=tone,
        name=state.name if state else "",
        error=state.error if state else "",
        attempted_at=state.attempted_at if state else None,
        synced_at=state.synced_at if state else None,
        pushed=state.signals.count() if state else 0,
        total=bank.entries.count(),
        exchange=_exchange(bank, state),
    )


def _exchange(bank: Bank, state: HmaBank | None) -> ExchangeView | None:
    if not bank.exchange:
        return None
    current = state is not None and state.exchange_api == bank.exchange["api"]
    return ExchangeView(
        api=bank.exchange["api"],
        config=bank.exchange.get("config") or {},
        credentials=[
            (key, describe_credential(value))
            for key, value in (bank.exchange.get("credentials") or {}).items()
        ],
        name=state.exchange_name if current else "",
        exists=current and state.exchange_exists,
        missing=current and state.exchange_missing,
        error=state.exchange_error if current else "",
        status=state.exchange_status if current else None,
        status_at=state.exchange_status_at if current else None,
    )


def removals() -> list[HmaBank]:
    """HMA banks of Coop banks deleted since, still to delete in HMA (or failing to)."""
    return list(HmaBank.objects.filter(bank__isnull=True))
