"""Image signals answered by HMA (`/m/lookup`, `/h/hash`) when HMA_SERVICE_URL is set.

A Coop HASH bank is looked up in the HMA banks it owns (its own, and its exchange's), with the
Coop bank's distance applied to the distances HMA reports (HMA's own PDQ threshold, 31 by
default, bounds what it reports). One lookup per image hash serves every leaf and bank of an
evaluation batch (`batch()`), and an HMA that does not answer is not asked again in the same
batch: each leaf that needs it is ERRORED with the reason while other rules go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from coop.catalog.models import Bank, BankKind
from coop.hma.client import SIGNAL_TYPES, HmaError, client, configured
from coop.hma.models import HmaBank, HmaSignal, SyncStatus
from coop.media import MediaFetchError, MediaKind, fetch_batch
from coop.signals.builtin import BankUnavailable, ExternalHash, ExternalMatch, HashBank
from coop.signals.hashing import DEFAULT_DISTANCE, MIN_QUALITY, HashIndex, InvalidHash, parse_hash

_EMPTY = HashIndex.build([])


@dataclass
class _Batch:
    banks: dict[str, HashBank] = field(default_factory=dict)
    lookups: dict[tuple[str, str], dict] = field(default_factory=dict)
    hashes: dict[str, ExternalHash | str] = field(default_factory=dict)  # URL -> hash or why not
    matched: dict[tuple[str, int], str | None] = field(default_factory=dict)  # content -> hash
    down: str | None = None  # why HMA did not answer, once it did not


_batch: ContextVar[_Batch | None] = ContextVar("hma_batch", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Share bank reads and lookups between the leaves of one evaluation batch."""
    token = _batch.set(_Batch())
    try:
        yield
    finally:
        _batch.reset(token)


def _lookup(signal_type: str, value: str) -> dict:
    current = _batch.get()
    if current is not None:
        if current.down is not None:
            raise HmaError(f"{current.down} (earlier in this batch; not asked again)")
        known = current.lookups.get((signal_type, value))
        if known is not None:
            return known
    try:
        answer = client().lookup(signal_type, value)
    except HmaError as exc:
        if current is not None and exc.status is None:
            current.down = exc.message
        raise
    if current is not None:
        current.lookups[(signal_type, value)] = answer
    return answer


def _distance(raw: object) -> int | None:
    try:
        return int(float(str(raw)))
    except ValueError:
        return None


class HmaIndex:
    """A HashMatcher over HMA banks: the nearest match HMA reports in any of `names`."""

    def __init__(self, state: HmaBank, signal_type: str) -> None:
        self.state_id = state.pk
        self.own = state.name if state.exists else None
        self.names = tuple(state.hma_names())
        self.signal_type = signal_type

    def nearest(self, query: str, max_distance: int = DEFAULT_DISTANCE) -> ExternalMatch | None:
        answer = _lookup(self.signal_type, query)
        best: tuple[int, str, int] | None = None
        for name in self.names:
            for match in answer.get(name) or ():
                distance = _distance(match.get("distance")) if isinstance(match, dict) else None
                content_id = match.get("bank_content_id") if distance is not None else None
                if not isinstance(content_id, int) or distance > max_distance:
                    continue
                if best is None or distance < best[0]:
                    best = (distance, name, content_id)
        if best is None:
            return None
        distance, name, content_id = best
        details = {"hma": {"bank": name, "contentId": content_id}}
        current = _batch.get()
        if current is not None and (name, content_id) in current.matched:
            matched = current.matched[(name, content_id)]
        else:
            matched = self._matched_hash(name, content_id)
            if current is not None:
                current.matched[(name, content_id)] = matched
        return ExternalMatch(distance, matched, details)

    def _matched_hash(self, name: str, content_id: int) -> str | None:
        """Which hash matched: Coop pushed its own bank's hashes; an exchange's are asked for."""
        if name == self.own:
            return (
                HmaSignal.objects.filter(hma_bank_id=self.state_id, content_id=content_id)
                .values_list("value", flat=True)
                .first()
            )
        try:
            content = client().get_content(name, content_id)
        except HmaError:
            return None
        value = (content.get("signals") or {}).get(SIGNAL_TYPES[self.signal_type])
        try:
            return parse_hash(value) if self.signal_type == "pdq" else str(value)
        except InvalidHash:
            return None


def hash_bank(bank_id: str) -> HashBank | None:
    """The bank as HMA answers for it, or None when HMA is not configured (built-in index)."""
    if not configured():
        return None
    current = _batch.get()
    if current is not None and bank_id in current.banks:
        return current.banks[bank_id]
    bank = Bank.objects.filter(pk=bank_id).select_related("hma").first()
    if bank is None:
        raise BankUnavailable(f"bank {bank_id!r} does not exist (it may have been deleted)")
    if bank.kind != BankKind.HASH:
        raise BankUnavailable(f"bank {bank_id!r} is a {bank.kind} bank, not a HASH bank")
    distance = DEFAULT_DISTANCE if bank.distance_threshold is None else bank.distance_threshold
    state = getattr(bank, "hma", None)
    if not bank.enabled:
        built = HashBank(_EMPTY, distance, False)  # never consulted: disabled banks are skipped
    elif state is None or not state.hma_names():
        raise BankUnavailable(f"bank {bank_id!r} is not in HMA yet: {_why(state)}")
    else:
        built = HashBank(HmaIndex(state, bank.signal_type or "pdq"), distance, True)
    if current is not None:
        current.banks[bank_id] = built
    return built


def _why(state: HmaBank | None) -> str:
    if state is None:
        return "it has not been synced"
    if state.status == SyncStatus.MISSING:
        return "HMA no longer has it (re-create it from the bank's page)"
    return state.error or state.get_status_display().lower()


def hashed_by_hma(url: str, reason: str) -> ExternalHash:
    """The PDQ hash of an image Coop fetched but could not decode itself (`reason`), from HMA
    (`POST /h/hash` with the bytes: HMA fetches nothing, so Coop's SSRF guard and size limit
    hold). Raises LookupError saying why there is none."""
    current = _batch.get()
    known = current.hashes.get(url) if current is not None else None
    if known is None:
        known = _hash_by_hma(url, reason)
        if current is not None:
            current.hashes[url] = known
    if isinstance(known, str):
        raise LookupError(known)
    return known


def _hash_by_hma(url: str, reason: str) -> ExternalHash | str:
    try:
        with fetch_batch() as media:
            content = media.fetch(url, (MediaKind.IMAGE,)).content
    except MediaFetchError as exc:
        return f"could not fetch the image: {exc.reason}"
    try:
        value = client().hash_image(content)
    except HmaError as exc:
        return f"{reason}; HMA could not hash it either: {exc.message}"
    if not value:
        return f"HMA found the image too featureless to hash (PDQ quality below {MIN_QUALITY})"
    try:
        return ExternalHash(parse_hash(value), MIN_QUALITY)
    except InvalidHash as exc:
        return f"HMA /h/hash answered a hash that is not PDQ: {exc}"
