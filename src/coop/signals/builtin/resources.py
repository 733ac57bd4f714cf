"""Compiled banks for the built-in signals, cached by bank version.

Compiling a bank (an Aho-Corasick automaton, an RE2 set, parsed locations) is far more
expensive than matching with it, so each compiled form is built once per (bank id, bank
version, form) and kept in a bounded process-wide LRU. A bank edit makes a new version and so a
new key: every process picks it up at its next version read, with no invalidation messages.
Where bank rows come from (the database, tests) is a `BankLoader`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from coop.core.items import ItemRef
from coop.signals.builtin.geo import Area, compile_areas
from coop.signals.hashing import DEFAULT_DISTANCE, HashIndex, Match, PdqHash
from coop.signals.text import InvalidPattern, Matcher, Mode, SimilarityBank, TextBank

T = TypeVar("T")

# Bank kinds each matcher mode reads.
MODE_BANK_KIND = {Mode.TEXT: "TEXT", Mode.VARIANT: "TEXT", Mode.REGEX: "REGEX"}


class BankUnavailable(LookupError):
    """A bank a leaf names cannot be used (deleted, wrong kind)."""


@dataclass(frozen=True, slots=True)
class BankData:
    """One version of a bank: strings (TEXT, REGEX) or location dicts (LOCATION), in order.

    `version` is any value that changes whenever the entries change (the bank's version).
    """

    kind: str
    version: Hashable
    entries: tuple[object, ...]
    # HASH banks: the match distance (None: the default) and whether the bank is matched at all.
    distance: int | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ExternalMatch:
    """A match found by an external matcher (HMA): like a `Match`, plus what the matcher says
    about it for the log (its bank and content id). `hash` is None when it could not be told."""

    distance: int
    hash: str | None
    details: dict[str, object]


@dataclass(frozen=True, slots=True)
class ExternalHash(PdqHash):
    """A PDQ hash an external hasher (HMA) computed. HMA does not tell the quality: it returns
    a hash only for images of quality MIN_QUALITY or more, so `quality` is that lower bound."""

    hashed_by: str = "hma"


class HashMatcher(Protocol):
    """What an image signal matches against: the built-in `HashIndex` or an external one."""

    def nearest(self, query: str, max_distance: int) -> Match | ExternalMatch | None: ...


@dataclass(frozen=True, slots=True)
class HashBank:
    """One version of a HASH bank, ready to match: its index, distance and enabled flag."""

    index: HashMatcher
    distance: int
    enabled: bool


class BankLoader(Protocol):
    def version(self, bank_id: str) -> tuple[str, Hashable]:
        """The bank's (kind, current version); BankUnavailable if it does not exist."""
        ...

    def load(self, bank_id: str) -> BankData:
        """The bank's entries as of one consistent read; BankUnavailable if it does not exist."""
        ...


class LRU(Generic[T]):
    """A small thread-safe LRU; values are built outside the lock (a race builds twice)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> T | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        value = self.peek(key)
        if value is None:
            value = build()
            self.put(key, value)
        return value

    def __len__(self) -> int:
        return len(self._data)


class _Broken:
    """A compile failure, cached like a compiled form so a bad bank is not rebuilt per item."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _built(compiled: T | _Broken) -> T:
    if isinstance(compiled, _Broken):
        raise compiled.error
    return compiled


def _safely(build: Callable[[], T]) -> T | _Broken:
    try:
        return build()
    except InvalidPattern as exc:
        return _Broken(exc)


# Compiled forms of leaves' inline values (the same values in many leaves compile once).
_INLINE: LRU[object] = LRU(maxsize=1024)
# Compiled forms of banks, by (bank id, version, form); shared by every provider of the process.
BANK_CACHE: LRU[object] = LRU(maxsize=256)
# A HASH bank whose previous version had at least this many hashes is rebuilt in the background
# (when a `background` runner is given): evaluation goes on with the previous version meanwhile.
BACKGROUND_BUILD_MIN_HASHES = 50_000


def build_hash_bank(data: BankData) -> HashBank:
    distance = DEFAULT_DISTANCE if data.distance is None else data.distance
    return HashBank(HashIndex.build(data.entries), distance, data.enabled)  # type: ignore[arg-type]


def inline_matcher(values: tuple[str, ...], mode: Mode, substring: bool) -> Matcher:
    key = ("matcher", values, mode, substring and mode is Mode.TEXT)
    compiled = _INLINE.get(
        key, lambda: _safely(lambda: TextBank.compile(values, mode, substring=substring))
    )
    return _built(compiled)  # type: ignore[arg-type]


def inline_similarity(values: tuple[str, ...]) -> SimilarityBank:
    return _INLINE.get(("similarity", values), lambda: SimilarityBank(values))  # type: ignore[return-value]


def inline_areas(values: tuple[object, ...], key: Hashable) -> tuple[Area, ...]:
    return _INLINE.get(("areas", key), lambda: compile_areas(values))  # type: ignore[return-value]


class CompiledBanks:
    """What the built-in signals need from outside: compiled banks and strike totals."""

    def __init__(
        self,
        loader: BankLoader,
        strike_total: Callable[[ItemRef], int],
        cache: LRU[object] = BANK_CACHE,
        image_hash: Callable[[str], PdqHash] | None = None,
        background: Callable[[Callable[[], None]], None] | None = None,
        background_min_hashes: int = BACKGROUND_BUILD_MIN_HASHES,
        external_hash_bank: Callable[[str], HashBank | None] | None = None,
    ) -> None:
        self.loader = loader
        self.strike_total = strike_total
        self._cache = cache
        self._image_hash = image_hash
        self._background = background
        self._background_min = background_min_hashes
        self._external_hash_bank = external_hash_bank
        # bank id -> the newest HASH bank built in this process, served while a newer builds.
        self._latest_hash: dict[str, HashBank] = {}
        self._building: set[Hashable] = set()
        self._lock = threading.Lock()

    def image_hash(self, url: str) -> PdqHash:
        if self._image_hash is None:
            raise LookupError("images are not hashed here")
        return self._image_hash(url)

    def hash_bank(self, bank_id: str) -> HashBank:
        """The bank's index for its current version. When that version is not built yet and
        the previous one is large, the new one is built by `background` and the previous one
        answers until it is ready (built, then swapped in): a big import never stalls items.
        An `external_hash_bank` (HMA, when configured) answers instead when it gives a bank."""
        if self._external_hash_bank is not None:
            external = self._external_hash_bank(bank_id)
            if external is not None:
                return external
        current_kind, version = self.loader.version(bank_id)
        if current_kind != "HASH":
            raise BankUnavailable(f"bank {bank_id!r} is a {current_kind} bank, not a HASH bank")
        key = (bank_id, version, "hash")
        built = self._cache.peek(key)
        if isinstance(built, HashBank):
            self._latest_hash[bank_id] = built
            return built
        previous = self._latest_hash.get(bank_id)
        if (
            previous is not None
            and self._background is not None
            and len(previous.index) >= self._background_min
        ):
            with self._lock:
                start = key not in self._building
                self._building.add(key)
            if start:
                self._background(lambda: self._build_hash_bank(bank_id, key))
            return previous
        return self._build_hash_bank(bank_id, key)

    def _build_hash_bank(self, bank_id: str, key: Hashable) -> HashBank:
        try:
            data = self.loader.load(bank_id)
            if data.kind != "HASH":
                raise BankUnavailable(f"bank {bank_id!r} is a {data.kind} bank, not a HASH bank")
            built = build_hash_bank(data)
            self._cache.put((bank_id, data.version, "hash"), built)
            self._latest_hash[bank_id] = built
            return built
        finally:
            with self._lock:
                self._building.discard(key)

    def matcher(self, bank_id: str, mode: Mode, substring: bool) -> Matcher:
        substring = substring and mode is Mode.TEXT
        return self._compiled(
            bank_id,
            MODE_BANK_KIND[mode],
            (mode, substring),
            lambda entries: TextBank.compile(entries, mode, substring=substring),  # type: ignore[arg-type]
        )

    def similarity(self, bank_id: str) -> SimilarityBank:
        return self._compiled(bank_id, "TEXT", "similarity", SimilarityBank)  # type: ignore[arg-type]

    def areas(self, bank_id: str) -> tuple[Area, ...]:
        return self._compiled(bank_id, "LOCATION", "areas", compile_areas)

    def _compiled(
        self, bank_id: str, kind: str, form: Hashable, build: Callable[[tuple[object, ...]], T]
    ) -> T:
        current_kind, version = self.loader.version(bank_id)
        if current_kind != kind:
            raise BankUnavailable(f"bank {bank_id!r} is a {current_kind} bank, not a {kind} bank")
        compiled = self._cache.peek((bank_id, version, form))
        if compiled is None:
            data = self.loader.load(bank_id)
            if data.kind != kind:
                raise BankUnavailable(f"bank {bank_id!r} is a {data.kind} bank, not a {kind} bank")
            compiled = _safely(lambda: build(data.entries))
            self._cache.put((bank_id, data.version, form), compiled)
        try:
            return _built(compiled)  # type: ignore[arg-type]
        except InvalidPattern as exc:
            raise InvalidPattern(
                exc.index, exc.pattern, f"{exc.reason} (bank {bank_id!r})"
            ) from None
