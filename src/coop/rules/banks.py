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
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.conf import settings
from django.db import connections

from coop.catalog.models import Bank, BankEntry, BankKind
from coop.core.items import ItemRef
from coop.hma import lookup as hma_lookup
from coop.hma.client import configured as hma_configured
from coop.ingest.images import UNDECODABLE, hash_url, stored_hash
from coop.integrations.config import configured_registry, integrations_config
from coop.integrations.signals import IntegrationSignals
from coop.media import fetch_batch
from coop.rules.conditions import IMAGE_HASH_SIGNALS
from coop.rules.prefetch import Remote
from coop.signals.builtin import BankData, BankUnavailable, CompiledBanks, LocalSignalProvider
from coop.signals.hashing import PdqHash
from coop.signals.registry import SignalFunction, SignalRegistry, default_registry

logger = logging.getLogger(__name__)

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
        head = ("kind", "version", "updated_at", "distance_threshold", "enabled")
        rows = list(
            BankEntry.objects.filter(bank_id=bank_id)
            .order_by("position")
            .values_list(*(f"bank__{column}" for column in head), "value", "location")
        )
        if rows:
            kind, version, updated_at, distance, enabled = rows[0][:5]
        else:
            found = Bank.objects.filter(pk=bank_id).values_list(*head).first()
            if found is None:
                raise _missing(bank_id)
            kind, version, updated_at, distance, enabled = found
        column = 6 if kind == BankKind.LOCATION else 5
        return BankData(
            kind,
            (version, updated_at),
            tuple(row[column] for row in rows),
            distance=distance,
            enabled=enabled,
        )


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


# Image hashes computed for a batch of items (see `image_hashes_known`).
_known_images: ContextVar[dict[str, PdqHash | str] | None] = ContextVar(
    "known_images", default=None
)


def image_hash(url: str) -> PdqHash:
    """The PDQ hash of the image at `url`: from the batch's hashes (the worker), else the one
    stored for the latest submission with that URL, else fetched and hashed now (not stored:
    there is no submission to keep it with). An image Coop fetched but cannot decode is hashed
    by HMA when HMA is configured. A failure raises with its reason."""
    known = _known_images.get()
    found = known.get(url) if known is not None else None
    if found is None:
        found = stored_hash(url)
        if found is None:
            with fetch_batch() as media:
                found = hash_url(url, media)
    if isinstance(found, str):
        if hma_configured() and found.startswith(UNDECODABLE):
            try:
                return hma_lookup.hashed_by_hma(url, found)
            except LookupError as exc:
                raise ImageUnavailable(str(exc)) from None
        raise ImageUnavailable(found)
    return found


class ImageUnavailable(LookupError):
    """An image that could not be fetched or hashed; the message says why."""


@contextmanager
def image_hashes_known(images: dict[str, PdqHash | str]) -> Iterator[None]:
    """Answer image signals from `images` (URL -> hash or failure reason) inside the block,
    which is one evaluation batch (HMA lookups are shared within it)."""
    token = _known_images.set(images)
    try:
        with hma_lookup.batch():
            yield
    finally:
        _known_images.reset(token)


def in_background(build: Callable[[], None]) -> None:
    """Run a bank build in a thread of its own, with its own database connection."""

    def run() -> None:
        try:
            build()
        except Exception:
            logger.exception("building a hash bank in the background failed")
        finally:
            connections.close_all()

    threading.Thread(target=run, name="coop-hash-bank-build", daemon=True).start()


class DatabaseSignalProvider(LocalSignalProvider):
    """The worker's signal provider: `evaluate(rule, EvaluationContext(item, provider))`.

    Its `registry` is the base one with the signals of the configured integrations enabled,
    and those signals' implementations come from coop.integrations; both are read when first
    needed and again after the configuration changes."""

    def __init__(
        self,
        registry: SignalRegistry | None = None,
        version_max_age: float = DEFAULT_VERSION_MAX_AGE,
    ) -> None:
        self.loader = DatabaseBankLoader(version_max_age)
        self._integrations: tuple[SignalRegistry, IntegrationSignals] | None = None
        super().__init__(
            registry or default_registry(),
            CompiledBanks(
                self.loader,
                strike_total,
                image_hash=image_hash,
                background=in_background,
                external_hash_bank=hma_lookup.hash_bank,
            ),
            max_text_chars=settings.COOP_MAX_ALL_TEXT_CHARS,
        )

    @property
    def registry(self) -> SignalRegistry:
        return self._configured()[0]

    @registry.setter
    def registry(self, base: SignalRegistry) -> None:
        self.base_registry = base
        self._integrations = None

    def _configured(self) -> tuple[SignalRegistry, IntegrationSignals]:
        loaded = self._integrations
        if loaded is None:
            config = integrations_config()
            loaded = (configured_registry(self.base_registry, config), IntegrationSignals(config))
            self._integrations = loaded
        return loaded

    def implementation(self, signal_id: str) -> SignalFunction | None:
        run = super().implementation(signal_id)
        return run if run is not None else self._configured()[1].implementation(signal_id)

    def remote(self, signal_id: str) -> Remote | None:
        """How the signal calls out, if it does: an integration's calls only touch the
        network (many at once, in threads); HMA's, answering the image signals when it is
        configured, also read the database (in the calling thread)."""
        if super().implementation(signal_id) is None:
            found = self._configured()[1].implementation(signal_id)
            return Remote.THREADED if found is not None else None
        return Remote.IN_CALLER if signal_id in IMAGE_HASH_SIGNALS and hma_configured() else None

    def in_threads(self) -> AbstractContextManager[None]:
        """What the integrations' calls need to run in threads (coop.integrations.signals)."""
        return self._configured()[1].in_threads()

    def configuration_changed(self) -> None:
        self.loader.forget_versions()
        self._integrations = None
