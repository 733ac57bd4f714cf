"""An exact index of 256-bit hashes for "every hash within Hamming distance d of this one".

Multi-index hashing (Norouzi, Punjani and Fleet, 2012): each hash is cut into 16 substrings of
16 bits, and each substring position has a table from the 65,536 substring values to the
hashes holding that value (a sorted array of positions plus offsets, so no per-entry objects).
If two hashes are within distance d, their 16 substrings' distances add up to at most d, so at
least one substring is within r = d // 16 of the query's (pigeonhole). A lookup therefore
reads, for each substring position, the buckets of every value within r of the query's
substring (17 buckets per position at d = 31, 272 in all), and checks the full distance of
each candidate: every hash within d is found (recall 1.0) and nothing farther is returned.

With random hashes a 1,000,000-hash bank has ~15 hashes per bucket, so a lookup at d = 31
checks ~4,000 candidates instead of 1,000,000. Small banks (below MULTI_INDEX_MIN hashes) and
very large distances (d >= 64, where the buckets would cover most of the bank) are scanned
whole instead, which is both exact and cheaper there.

An index is immutable and built from one list of hashes (one bank version): a new version gets
a new index, built beside the old one, which keeps answering until it is swapped out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from coop.signals.hashing.pdq import (
    DEFAULT_DISTANCE,
    HASH_BITS,
    HASH_BYTES,
    InvalidHash,
    hash_to_bytes,
)

SUBSTRINGS = 16
SUBSTRING_BITS = HASH_BITS // SUBSTRINGS  # 16: a substring value indexes a 65,536-entry table
BUCKETS = 1 << SUBSTRING_BITS
MULTI_INDEX_MIN = 4096  # below this a whole scan is faster than the tables are worth
MAX_PROBE_RADIUS = 3  # d >= 64 would read most buckets: scan instead
_ROW_STARTS = (np.arange(SUBSTRINGS, dtype=np.int64) * (BUCKETS + 1))[:, None]


@dataclass(frozen=True, slots=True, order=True)
class Match:
    distance: int
    position: int  # index of the hash in the list the index was built from
    hash: str


@cache
def _probe_masks(radius: int) -> np.ndarray:
    """Every 16-bit value with at most `radius` bits set (the XOR masks to probe with)."""
    values = np.arange(BUCKETS, dtype=np.uint32)
    return values[np.bitwise_count(values) <= radius].astype(np.int64)


def _as_matrix(hashes: Iterable[str | bytes]) -> np.ndarray:
    rows = []
    for number, value in enumerate(hashes, start=1):
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            if len(raw) != HASH_BYTES:
                raise InvalidHash(
                    f"not a PDQ hash: expected {HASH_BYTES} bytes, got {len(raw)}", line=number
                )
        else:
            try:
                raw = hash_to_bytes(value)
            except InvalidHash as error:
                raise InvalidHash(str(error), line=number) from None
        rows.append(raw)
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), HASH_BYTES)


def _query_bytes(query: str | bytes) -> np.ndarray:
    raw = bytes(query) if isinstance(query, bytes | bytearray | memoryview) else None
    if raw is None:
        raw = hash_to_bytes(query)
    elif len(raw) != HASH_BYTES:
        raise InvalidHash(f"not a PDQ hash: expected {HASH_BYTES} bytes, got {len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8)


def _check_distance(max_distance: int) -> int:
    if isinstance(max_distance, bool) or not isinstance(max_distance, int | np.integer):
        raise TypeError("max_distance must be an integer")
    if not 0 <= max_distance <= HASH_BITS:
        raise ValueError(f"max_distance must be between 0 and {HASH_BITS}, got {max_distance}")
    return int(max_distance)


class HashIndex:
    """An immutable, exact range-search index over 256-bit (PDQ) hashes."""

    __slots__ = ("_ids", "_offsets", "_words")

    def __init__(self, matrix: np.ndarray, *, multi_index: bool | None = None) -> None:
        """`matrix`: (n, 32) uint8, one hash per row. Use `build` for hex strings.

        `multi_index` forces the tables on (True) or off (False); None decides by size.
        """
        if matrix.ndim != 2 or matrix.shape[1] != HASH_BYTES or matrix.dtype != np.uint8:
            raise ValueError(f"expected an (n, {HASH_BYTES}) uint8 array, got {matrix.shape}")
        words = np.ascontiguousarray(matrix).view(np.uint64).copy()  # (n, 4)
        words.flags.writeable = False
        self._words = words
        count = len(words)
        if multi_index is None:
            multi_index = count >= MULTI_INDEX_MIN
        self._ids: np.ndarray | None = None
        self._offsets: np.ndarray | None = None
        if multi_index and count:
            self._build_tables()

    @classmethod
    def build(cls, hashes: Iterable[str | bytes], *, multi_index: bool | None = None) -> HashIndex:
        """An index of `hashes` (64-hex strings or 32-byte values), in their order.

        Duplicates are kept: each is its own position. A bad hash raises
        InvalidHash("line N: ...") with N its 1-based place in `hashes`.
        """
        return cls(_as_matrix(hashes), multi_index=multi_index)

    def _build_tables(self) -> None:
        count = len(self._words)
        substrings = self._words.view(np.uint16).reshape(count, SUBSTRINGS)
        index_type = np.int32 if count < 2**31 else np.int64
        ids = np.empty((SUBSTRINGS, count), dtype=index_type)
        offsets = np.empty((SUBSTRINGS, BUCKETS + 1), dtype=np.int64)
        for column in range(SUBSTRINGS):
            values = substrings[:, column]
            ids[column] = np.argsort(values, kind="stable")
            offsets[column, 0] = 0
            np.cumsum(np.bincount(values, minlength=BUCKETS), out=offsets[column, 1:])
            offsets[column] += column * count  # offsets into the flattened `ids`
        ids = ids.reshape(-1)
        offsets = offsets.reshape(-1)
        ids.flags.writeable = False
        offsets.flags.writeable = False
        self._ids, self._offsets = ids, offsets

    def __len__(self) -> int:
        return len(self._words)

    @property
    def multi_index(self) -> bool:
        return self._ids is not None

    @property
    def nbytes(self) -> int:
        """The memory the index's arrays hold."""
        arrays = (self._words, self._ids, self._offsets)
        return sum(a.nbytes for a in arrays if a is not None)

    def hash_at(self, position: int) -> str:
        return self._words[position].tobytes().hex()

    def search(
        self, query: str | bytes, max_distance: int = DEFAULT_DISTANCE
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, distances) of every hash within `max_distance`, by position."""
        max_distance = _check_distance(max_distance)
        query_bytes = _query_bytes(query)
        if not len(self._words):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        radius = max_distance // SUBSTRINGS
        if self._ids is None or radius > MAX_PROBE_RADIUS:
            return self._scan(query_bytes, max_distance)
        return self._probe(query_bytes, max_distance, radius)

    def lookup(self, query: str | bytes, max_distance: int = DEFAULT_DISTANCE) -> list[Match]:
        """Every hash within `max_distance` of `query`, nearest first (then by position)."""
        positions, distances = self.search(query, max_distance)
        found = [
            Match(int(d), int(p), self._words[p].tobytes().hex())
            for p, d in zip(positions, distances, strict=True)
        ]
        found.sort()
        return found

    def nearest(self, query: str | bytes, max_distance: int = DEFAULT_DISTANCE) -> Match | None:
        found = self.lookup(query, max_distance)
        return found[0] if found else None

    def _scan(self, query: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
        distances = _distances(self._words, query.view(np.uint64))
        positions = np.flatnonzero(distances <= max_distance)
        return positions, distances[positions].astype(np.int64)

    def _probe(
        self, query: np.ndarray, max_distance: int, radius: int
    ) -> tuple[np.ndarray, np.ndarray]:
        assert self._ids is not None
        assert self._offsets is not None
        # The buckets to read: each substring position's value XOR every mask of <= radius bits,
        # as places in the flattened offsets (row `column` starts at column * (BUCKETS + 1)).
        substrings = query.view(np.uint16).astype(np.int64)
        keys = ((substrings[:, None] ^ _probe_masks(radius)[None, :]) + _ROW_STARTS).ravel()
        starts = np.take(self._offsets, keys)
        lengths = np.take(self._offsets, keys + 1) - starts
        total = int(lengths.sum())
        if not total:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        # The concatenation of the ranges ids[start:start + length], without a Python loop.
        ends = np.cumsum(lengths)
        slots = np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths)
        candidates = np.take(self._ids, slots)
        distances = _distances(np.take(self._words, candidates, axis=0), query.view(np.uint64))
        hit = distances <= max_distance
        # A hash close in several substrings is a candidate several times: keep it once.
        positions, first = np.unique(candidates[hit], return_index=True)
        return positions.astype(np.int64), distances[hit][first].astype(np.int64)


def _distances(words: np.ndarray, query_words: np.ndarray) -> np.ndarray:
    """Hamming distances of (k, 4) uint64 rows to the query's 4 words, as int16."""
    counts = np.bitwise_count(words ^ query_words)  # (k, 4) uint8, each <= 64
    # Column sums: numpy's sum over a 4-wide axis costs several times more.
    total = counts[:, 0].astype(np.int16)
    for column in range(1, 4):
        total += counts[:, column]
    return total


def brute_force(hashes: Sequence[str | bytes] | np.ndarray, query: str | bytes, max_distance: int):
    """(positions, distances) by a whole scan: the reference the index is checked against."""
    matrix = hashes if isinstance(hashes, np.ndarray) else _as_matrix(hashes)
    words = np.ascontiguousarray(matrix).view(np.uint64)
    distances = _distances(words, _query_bytes(query).view(np.uint64))
    positions = np.flatnonzero(distances <= _check_distance(max_distance))
    return positions, distances[positions].astype(np.int64)
