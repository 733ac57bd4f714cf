"""The database side of the built-in signals: bank rows, strike totals, the worker's provider.

`DatabaseSignalProvider()` is all a worker needs: the default registry (built-ins and plugins)
with the local built-ins reading banks from Postgres. Bank versions are read for all banks in
one query at most every `version_max_age` seconds; compiled banks are cached process-wide by
(bank id, version), so an edited bank is recompiled once per process and never served stale
for longer than that. The version read is (version, updated_at): versions never repeat for a
bank id, and the timestamp keeps that true across databases (e.g. tests rolled back).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.conf import settings

from coop.catalog.models import Bank, BankEntry, BankKind
from coop.core.items import ItemRef
from coop.signals.builtin import BankData, BankUnavailable, CompiledBanks, LocalSignalProvider
from coop.signals.registry import SignalRegistry, default_registry

DEFAULT_VERSION_MAX_AGE = 1.0
Revision = tuple[int, datetime]


def _missing(bank_id: str) -> BankUnavailable:
    return BankUnavailable(f"bank {bank_id!r} does not exist (it may have been deleted)")


class DatabaseBankLoader:
    """Reads Bank and BankEntry rows (a BankLoader)."""

    def __init__(self, version_max_age: float = DEFAULT_VERSION_MAX_AGE) -> None:
        self.version_max_age = version_max_age
        self._versions: dict[str, tuple[str, Revision]] = {}
        self._read_at = -float("inf")
        self._lock = threading.Lock()

    def version(self, bank_id: str) -> tuple[str, Revision]:
        with self._lock:
            if time.monotonic() - self._read_at >= self.version_max_age:
                self._versions = {
                    bank: (kind, (version, updated_at))
                    for bank, kind, version, updated_at in Bank.objects.values_list(
                        "id", "kind", "version", "updated_at"
                    )
                }
                self._read_at = time.monotonic()
            versions = self._versions
        try:
            return versions[bank_id]
        except KeyError:
            raise _missing(bank_id) from None

    def forget_versions(self) -> None:
        """Read the bank versions again on the next lookup (the configuration changed)."""
        with self._lock:
            self._read_at = -float("inf")

    def load(self, bank_id: str) -> BankData:
        # One statement, so the version and the entries come from the same snapshot.
        rows = list(
            BankEntry.objects.filter(bank_id=bank_id)
            .order_by("position")
            .values_list("bank__kind", "bank__version", "bank__updated_at", "value", "location")
        )
        if rows:
            kind, version, updated_at = rows[0][:3]
        else:
            found = (
                Bank.objects.filter(pk=bank_id).values_list("kind", "version", "updated_at").first()
            )
            if found is None:
                raise _missing(bank_id)
            kind, version, updated_at = found
        column = 4 if kind == BankKind.LOCATION else 3
        return BankData(kind, (version, updated_at), tuple(row[column] for row in rows))


# Strike totals read in advance for a batch of items (see `strike_totals_known`).
_known_totals: ContextVar[dict[ItemRef, int] | None] = ContextVar("known_totals", default=None)


def strike_total(user: ItemRef) -> int:
    """The user's current strike total, from the enforcement app (imported when first used)."""
    known = _known_totals.get()
    if known is not None and user in known:
        return known[user]
    strikes = importlib.import_module("coop.enforcement.strikes")
    return strikes.user_strike_total(user)


@contextmanager
def strike_totals_known(totals: dict[ItemRef, int]) -> Iterator[None]:
    """Answer USER_STRIKE_VALUE from `totals` inside the block (one query for a whole batch
    instead of one per item); users not in `totals` are still looked up."""
    token = _known_totals.set(totals)
    try:
        yield
    finally:
        _known_totals.reset(token)


class DatabaseSignalProvider(LocalSignalProvider):
    """The worker's signal provider: `evaluate(rule, EvaluationContext(item, provider))`."""

    def __init__(
        self,
        registry: SignalRegistry | None = None,
        version_max_age: float = DEFAULT_VERSION_MAX_AGE,
    ) -> None:
        self.loader = DatabaseBankLoader(version_max_age)
        super().__init__(
            registry or default_registry(),
            CompiledBanks(self.loader, strike_total),
            max_text_chars=settings.COOP_MAX_ALL_TEXT_CHARS,
        )

    def configuration_changed(self) -> None:
        self.loader.forget_versions()
