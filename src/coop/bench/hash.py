"""`coop bench hash`: PDQ lookups against a bank of 1,000,000 hashes at distance <= 31.

The bank is 990,000 random 256-bit hashes plus 1,000 planted families of 10 near-duplicates
(each 1-31 bits from its family's seed). The queries, on one core and one at a time as the
signal makes them: half near a family seed (0-31 bits flipped: they match several family
members), a quarter near a random bank hash, a quarter random (no match). It reports lookups
per second (wall clock and per CPU second, as the machine may be shared) with the mean and p95
microseconds per lookup, recall and false matches against a whole-bank numpy scan on a sample
of the queries, the seconds and memory the index took to build, and the cost of hashing an
image: milliseconds to decode and hash a 1-megapixel JPEG.
"""

from __future__ import annotations

import io
import statistics
import time

import numpy as np
from PIL import Image

from coop.bench.harness import Result, percentile, rss_mb
from coop.signals.hashing import HashIndex, brute_force, hash_image
from coop.signals.hashing.pdq import decode_image

BANK_SIZE = 1_000_000
FAMILIES = 1_000
FAMILY_SIZE = 10
DISTANCE = 31
QUERIES = 2_000
RECALL_SAMPLE = 300
IMAGE_REPEATS = 20


def flip(rows: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row with `counts[i]` distinct bits flipped."""
    bits = np.unpackbits(rows, axis=1)
    for i, count in enumerate(counts):
        bits[i, rng.choice(256, size=int(count), replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def bank(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The bank's hashes, (BANK_SIZE, 32) uint8, and the family seeds."""
    seeds = rng.integers(0, 256, size=(FAMILIES, 32), dtype=np.uint8)
    members = np.repeat(seeds, FAMILY_SIZE, axis=0)
    planted = flip(members, rng.integers(1, DISTANCE + 1, size=len(members)), rng)
    random = rng.integers(0, 256, size=(BANK_SIZE - len(planted), 32), dtype=np.uint8)
    hashes = np.concatenate([random, planted])
    return hashes[rng.permutation(len(hashes))], seeds


def queries(hashes: np.ndarray, seeds: np.ndarray, rng: np.random.Generator) -> list[bytes]:
    near_seed = seeds[rng.integers(0, FAMILIES, size=QUERIES // 2)]
    near_bank = hashes[rng.integers(0, len(hashes), size=QUERIES // 4)]
    near = np.concatenate([near_seed, near_bank])
    near = flip(near, rng.integers(0, DISTANCE + 1, size=len(near)), rng)
    unrelated = rng.integers(0, 256, size=(QUERIES - len(near), 32), dtype=np.uint8)
    rows = np.concatenate([near, unrelated])
    return [rows[i].tobytes() for i in rng.permutation(len(rows))]


def photo(width: int = 1000, height: int = 1000, seed: int = 5) -> bytes:
    """A 1-megapixel JPEG (quality 90) with structure at several scales and sensor-like noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC))
    noise = rng.normal(0, 12, size=smooth.shape)
    pixels = np.clip(smooth + noise, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def hashing_cost() -> dict[str, float]:
    data = photo()
    hash_image(data)  # warm-up
    decode: list[float] = []
    total: list[float] = []
    for _ in range(IMAGE_REPEATS):
        started = time.perf_counter()
        decode_image(data)
        decode.append((time.perf_counter() - started) * 1e3)
        started = time.perf_counter()
        hash_image(data)
        total.append((time.perf_counter() - started) * 1e3)
    return {
        "hash_ms_per_image": statistics.fmean(total),
        "decode_ms_per_image": statistics.fmean(decode),
        "image_kb": len(data) / 1024,
    }


def recall(index: HashIndex, hashes: np.ndarray, sample: list[bytes]) -> tuple[float, int, int]:
    """(recall, false matches, expected matches) of the index against a whole scan."""
    expected = found = false = 0
    for query in sample:
        want = set(brute_force(hashes, query, DISTANCE)[0].tolist())
        got = {m.position for m in index.lookup(query, DISTANCE)}
        expected += len(want)
        found += len(want & got)
        false += len(got - want)
    return (found / expected if expected else 1.0), false, expected


def run(seconds: float = 20.0) -> Result:
    rng = np.random.default_rng(20261206)
    hashes, seeds = bank(rng)
    asked = [query.hex() for query in queries(hashes, seeds, rng)]  # as the signal asks: text
    memory = rss_mb()
    started = time.perf_counter()
    index = HashIndex(hashes)
    build_s = time.perf_counter() - started
    build_mb = rss_mb() - memory
    matched = sum(bool(index.lookup(query, DISTANCE)) for query in asked)
    timings: list[float] = []
    cpu_started = time.process_time()
    wall_started = time.perf_counter()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for query in asked:
            started = time.perf_counter()
            index.lookup(query, DISTANCE)
            timings.append((time.perf_counter() - started) * 1e6)
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started
    sample = [bytes.fromhex(query) for query in asked[:RECALL_SAMPLE]]
    found, false_matches, expected = recall(index, hashes, sample)
    return Result(
        scenario="hash",
        metrics={
            "lookups_per_s": len(timings) / wall,
            "lookups_per_cpu_s": len(timings) / cpu if cpu else 0.0,
            "us_per_lookup": statistics.fmean(timings),
            "p95_us": percentile(timings, 95),
            "lookups": len(timings),
            "queries_matching": matched / len(asked),
            "recall": found,
            "false_matches": false_matches,
            "recall_sample_matches": expected,
            "bank_hashes": len(index),
            "index_build_s": build_s,
            "index_mb": index.nbytes / 2**20,
            "index_rss_mb": build_mb,
            **hashing_cost(),
        },
        # quality.md: >= 1,000 lookups/s on one core (wall clock); the stricter 5,000 is counted
        # per CPU second of the one thread, which a shared machine does not distort.
        targets={
            "lookups_per_s": ">= 1000",
            "lookups_per_cpu_s": ">= 5000",
            "recall": ">= 1",
            "false_matches": "< 1",
        },
    )
