"""`coop bench text`: variant matching of 1 KB texts against a 10,000-term bank.

The bank is the evasion corpus's terms plus deterministic made-up phrases up to 10,000
entries; the texts are 1 KB messages assembled from the clean corpus, one in ten carrying an
evasive positive. It reports microseconds per text (mean, median and p95, and the mean over the
texts that match, which also pay for locating the match), the seconds and resident memory the
bank took to build and, with the same bank, recall on the evasive positives and the
false-positive rate on the clean negatives. Last, the cost must be linear in the text: for each
adversarial input of LINEARITY (edge leet, stretched letters, ...) the time for 200 KB over the
time for 100 KB (CPU time, best of five each) is reported as the largest such ratio (2 is linear).
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
from pathlib import Path

from coop.bench.harness import Result, percentile, rss_mb
from coop.signals.text import Mode, TextBank

BANK_SIZE = 10_000
TEXT_BYTES = 1024
CORPUS = Path(__file__).resolve().parents[3] / "tests" / "data" / "evasion"
LINEARITY = {
    "edge leet": "fr33 m0ney! ",
    "stretched": "heeeeelllllooooo ",
    "ambiguous ones": "k1ll y0u h1 ",
    "spelled out": "a b c d e ",
    "one long token": "a1",
    "single separators": "mon.ey sc_am ",
    "non-ASCII": "ｆｒｅｅ ｍ０ｎｅｙ шeed ",
}
LINEARITY_CHARS = 100_000
SYLLABLES = "ka lo mi zu ter van qui bro sel dax nor pim gru fla wen tox rev jal".split()


def corpus() -> tuple[list[str], list[dict], list[dict]]:
    if not (CORPUS / "bank.txt").exists():
        raise FileNotFoundError(f"the evasion corpus is not at {CORPUS} (a source checkout)")
    terms = (CORPUS / "bank.txt").read_text(encoding="utf-8").split("\n")
    rows = {
        name: [json.loads(line) for line in (CORPUS / f"{name}.jsonl").open(encoding="utf-8")]
        for name in ("positives", "negatives")
    }
    return [t for t in terms if t], rows["positives"], rows["negatives"]


def bank(terms: list[str], rng: random.Random) -> list[str]:
    """The corpus terms plus made-up one- to three-word phrases, BANK_SIZE in all."""
    words = sorted({"".join(rng.choices(SYLLABLES, k=3)) for _ in range(4000)})
    entries = dict.fromkeys(terms)
    while len(entries) < BANK_SIZE:
        entries[" ".join(rng.choices(words, k=rng.randint(1, 3)))] = None
    return list(entries)


def texts(positives: list[dict], negatives: list[dict], rng: random.Random, n: int) -> list[str]:
    out = []
    for i in range(n):
        parts: list[str] = []
        size = 0
        if positives and i % 10 == 0:
            parts.append(rng.choice(positives)["text"])
            size += len(parts[0]) + 1
        while size < TEXT_BYTES:
            sentence = rng.choice(negatives)["text"]
            parts.append(sentence)
            size += len(sentence) + 1
        rng.shuffle(parts)
        out.append(" ".join(parts)[:TEXT_BYTES])
    return out


def linearity(matcher) -> float:
    """The largest time(2N) / time(N) over the LINEARITY inputs (best of five runs each)."""

    def best(text: str) -> float:
        times = []
        for _ in range(5):
            gc.collect()  # the cyclic collector's passes grow with the live objects, not the text
            gc.disable()
            try:  # CPU time of this thread: a ratio, not a latency, so preemption is left out
                started = time.thread_time()
                matcher.find_all(text)
                times.append(time.thread_time() - started)
            finally:
                gc.enable()
        return min(times)

    ratios = []
    for unit in LINEARITY.values():
        small, large = (
            (unit * (n // len(unit) + 1))[:n] for n in (LINEARITY_CHARS, 2 * LINEARITY_CHARS)
        )
        ratios.append(best(large) / best(small))
    return max(ratios)


def run(seconds: float = 20.0) -> Result:
    rng = random.Random(20261121)
    terms, positives, negatives = corpus()
    entries = bank(terms, rng)
    memory = rss_mb()
    started = time.perf_counter()
    matcher = TextBank.compile(entries, Mode.VARIANT)
    build_s = time.perf_counter() - started
    build_mb = rss_mb() - memory
    found = sum(row["term"] in {m.term for m in matcher.find_all(row["text"])} for row in positives)
    false_positives = sum(matcher.find(row["text"]) is not None for row in negatives)
    samples = texts(positives, negatives, rng, 500)
    matching = [matcher.find(text) is not None for text in samples]
    timings: list[float] = []
    matched: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for text, matches in zip(samples, matching, strict=True):
            started = time.perf_counter()
            matcher.find(text)
            timings.append((time.perf_counter() - started) * 1e6)
            if matches:
                matched.append(timings[-1])
    return Result(
        scenario="text",
        metrics={
            "us_per_text": statistics.fmean(timings),
            "median_us": statistics.median(timings),
            "p95_us": percentile(timings, 95),
            "us_per_matched_text": statistics.fmean(matched) if matched else 0.0,
            "texts": len(timings),
            "bank_terms": BANK_SIZE,
            "bank_build_s": build_s,
            "bank_rss_mb": build_mb,
            "recall": found / len(positives),
            "false_positive_rate": false_positives / len(negatives),
            "linearity_max_ratio": linearity(matcher),
        },
        targets={
            "us_per_text": "< 100",
            "median_us": "< 80",
            "p95_us": "< 150",
            "recall": ">= 0.95",
            "false_positive_rate": "< 0.005",
            "linearity_max_ratio": "< 2.6",
        },
    )
