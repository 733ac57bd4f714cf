"""The hash index finds exactly what a whole scan finds, at every distance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coop.signals.hashing import HashIndex, InvalidHash, Match, brute_force
from coop.signals.hashing.index import MULTI_INDEX_MIN


def random_bank(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.integers(0, 256, size=(count, 32), dtype=np.uint8)


def flip(row: np.ndarray, bits: int, rng: np.random.Generator) -> bytes:
    """`row` with exactly `bits` distinct bits flipped."""
    vector = np.unpackbits(row)
    vector[rng.choice(256, size=bits, replace=False)] ^= 1
    return np.packbits(vector).tobytes()


def assert_exact(index: HashIndex, bank: np.ndarray, query: bytes, d: int) -> None:
    got_positions, got_distances = index.search(query, d)
    want_positions, want_distances = brute_force(bank, query, d)
    assert got_positions.tolist() == want_positions.tolist()
    assert got_distances.tolist() == want_distances.tolist()


@pytest.fixture(scope="module")
def bank() -> np.ndarray:
    """20,000 random hashes plus families of near-duplicates (clusters, as real banks have)."""
    rng = np.random.default_rng(1)
    base = random_bank(rng, 20_000)
    family = [flip(base[i % 50], int(rng.integers(0, 40)), rng) for i in range(2_000)]
    planted = np.frombuffer(b"".join(family), dtype=np.uint8).reshape(-1, 32)
    return np.concatenate([base, planted])


@pytest.fixture(scope="module")
def index(bank) -> HashIndex:
    built = HashIndex(bank)
    assert built.multi_index
    return built


@pytest.mark.parametrize("d", [0, 1, 15, 16, 17, 31, 32, 47, 48, 63, 64, 90])
def test_exact_against_a_scan_at_every_radius(bank, index, d):
    rng = np.random.default_rng(d)
    for _ in range(40):
        query = flip(bank[int(rng.integers(len(bank)))], int(rng.integers(0, d + 8)), rng)
        assert_exact(index, bank, query, d)


def test_boundary_distances_d_and_d_plus_one(bank, index):
    rng = np.random.default_rng(2)
    for d in (0, 1, 15, 16, 31, 32, 47, 63):
        for _ in range(20):
            position = int(rng.integers(20_000))  # a random hash, alone in its neighbourhood
            at_d = flip(bank[position], d, rng)
            assert position in index.search(at_d, d)[0].tolist()
            if d:
                assert position not in index.search(at_d, d - 1)[0].tolist()
            beyond = flip(bank[position], d + 1, rng)
            assert position not in index.search(beyond, d)[0].tolist()
            assert position in index.search(beyond, d + 1)[0].tolist()
            assert_exact(index, bank, at_d, d)
            assert_exact(index, bank, beyond, d)


def test_lookup_reports_hash_and_distance_nearest_first(bank, index):
    rng = np.random.default_rng(3)
    query = flip(bank[7], 5, rng)
    found = index.lookup(query, 31)
    assert found[0] == Match(distance=5, position=7, hash=bank[7].tobytes().hex())
    assert [m.distance for m in found] == sorted(m.distance for m in found)
    assert index.lookup(query.hex(), 31) == found  # hex text or bytes
    assert index.nearest(query, 31) == found[0]
    assert index.nearest(query, 4) is None


def test_a_family_of_near_duplicates_is_found_whole(bank, index):
    # bank[0]'s family: the planted rows at 20,000 + i with i % 50 == 0 (each within 39 bits).
    positions = set(index.search(bank[0].tobytes(), 39)[0].tolist())
    assert 0 in positions
    assert {20_000 + i for i in range(0, 2_000, 50)} <= positions


@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(0, 300),
    d=st.integers(0, 80),
    flips=st.integers(0, 90),
)
@settings(max_examples=60, deadline=None)
def test_small_banks_exact_with_and_without_tables(seed, count, d, flips):
    rng = np.random.default_rng(seed)
    bank = random_bank(rng, count)
    source = bank[int(rng.integers(count))] if count else random_bank(rng, 1)[0]
    query = flip(source, flips, rng)
    for multi_index in (True, False):
        assert_exact(HashIndex(bank, multi_index=multi_index), bank, query, d)


def test_empty_bank():
    for multi_index in (None, True, False):
        index = HashIndex.build([], multi_index=multi_index)
        assert len(index) == 0
        assert index.lookup("0" * 64, 31) == []
        assert index.nearest("0" * 64) is None


def test_duplicate_hashes_are_each_their_own_position():
    rng = np.random.default_rng(4)
    hashes = [row.tobytes().hex() for row in random_bank(rng, MULTI_INDEX_MIN)]
    hashes[10] = hashes[20] = hashes[30]
    for multi_index in (True, False):
        index = HashIndex.build(hashes, multi_index=multi_index)
        found = index.lookup(hashes[30], 0)
        assert [(m.position, m.distance, m.hash) for m in found] == [
            (10, 0, hashes[30]),
            (20, 0, hashes[30]),
            (30, 0, hashes[30]),
        ]


def test_build_from_text_names_the_bad_line():
    good = "ab" * 32
    with pytest.raises(InvalidHash, match=r"^line 3: not a PDQ hash: expected 64"):
        HashIndex.build([good, good.upper(), "abc"])
    with pytest.raises(InvalidHash, match=r"^line 2: not a PDQ hash: expected 32 bytes"):
        HashIndex.build([bytes(32), bytes(31)])
    index = HashIndex.build([good, bytes.fromhex(good)])
    assert [index.hash_at(0), index.hash_at(1)] == [good, good]


def test_bad_queries_and_distances():
    index = HashIndex.build(["00" * 32])
    with pytest.raises(InvalidHash):
        index.lookup("zz" * 32)
    with pytest.raises(InvalidHash):
        index.lookup(b"\0" * 31)
    with pytest.raises(ValueError, match="between 0 and 256"):
        index.lookup("00" * 32, -1)
    with pytest.raises(ValueError, match="between 0 and 256"):
        index.lookup("00" * 32, 257)
    with pytest.raises(TypeError):
        index.lookup("00" * 32, 31.5)  # type: ignore[arg-type]
    assert [m.distance for m in index.lookup("ff" * 32, 256)] == [256]


def test_the_index_is_immutable_and_independent_of_its_input():
    rng = np.random.default_rng(5)
    bank = random_bank(rng, MULTI_INDEX_MIN)
    index = HashIndex(bank)
    original = bank[0].tobytes()
    bank[0] ^= 0xFF  # the caller's array changes; the index does not
    assert index.search(original, 0)[0].tolist() == [0]
    with pytest.raises(ValueError, match="read-only"):
        index._words[0, 0] = 1
    with pytest.raises(AttributeError):
        index.extra = 1  # type: ignore[attr-defined]
