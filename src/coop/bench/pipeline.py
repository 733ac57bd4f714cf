"""`coop bench evaluate` and `coop bench e2e`: the rules engine in a real worker process.

Both apply the same configuration to a scratch database: 20 LIVE rules on posts, among them a
10,000-term TEXT bank matched with evasion-resistant variants, a 100-pattern REGEX bank and a
LOCATION bank, plus cheaper rules (inline keywords, regexes, numbers, the author's strikes),
and one LIVE rule on photos matching their image against a HASH bank. Items go through
`coop web` exactly as a platform sends them; a local receiver plays the platform's webhook
endpoint.

- evaluate: after a warm-up (banks compiled), a backlog of items is submitted at once and the
  worker's throughput is the number of items evaluated per second until the backlog is gone.
  Then the same for photo items, each with its own image on a local image host, against a
  100,000-hash bank (coop.bench.images): the worker fetches, PDQ-hashes and looks up every one.
- e2e: items that trigger a webhook are submitted at a steady rate; each item's latency is
  from just before its request to the receipt of its webhook. Lost and duplicated webhooks
  are counted by item and by Coop-Delivery-Id.
"""

from __future__ import annotations

import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import psycopg
import yaml

from coop.bench.harness import (
    BENCH_KEY,
    Receiver,
    Result,
    insert_api_key,
    percentile,
    run_coop,
    scratch_database,
    web_server,
    worker,
)
from coop.bench.images import BANK_HASHES, BANK_ID, ImageHost, bank_lines, hashing_cost, photos
from coop.bench.text import bank, corpus
from coop.bench.text import texts as corpus_texts

BATCH = 100
PHOTO_BATCH = 20  # photo uploads come in smaller requests than text
PHOTO_WARMUP = 20
E2E_MARKER = "e2e-marker"
GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"


def configuration(receiver_url: str, rng: random.Random) -> dict:
    terms, _, _ = corpus()
    patterns = [rf"\b{w}[0-9]{{2,4}}\b" for w in _words(rng, 99)] + [r"bit\.ly/\w+"]
    circles = [
        {"name": f"place {i}", "lat": rng.uniform(-60, 60), "lng": rng.uniform(-170, 170)}
        | {"radiusMiles": rng.uniform(0.5, 20)}
        for i in range(40)
    ]
    cells = [{"name": f"cell {i}", "geohash": _geohash(rng, 4)} for i in range(10)]
    text, all_text = {"field": "text"}, "ALL_TEXT"
    rules = [
        _rule("variants", _leaf(text, "VARIANT", banks=["big-bank"])),
        _rule("regexes", _leaf(all_text, "REGEX", banks=["patterns"])),
        _rule("places", _leaf({"field": "location"}, "GEO", banks=["places"])),
        _rule("e2e", _leaf(text, "TEXT", values=[E2E_MARKER])),
    ]
    rules += [
        _rule(f"keyword-{i}", _leaf(all_text, "TEXT", values=[word, f"{word} now"]))
        for i, word in enumerate(_words(rng, 9))
    ]
    rules += [
        _rule(f"regex-{i}", _leaf(text, "REGEX", values=[rf"{word}\s+\d+"]))
        for i, word in enumerate(_words(rng, 4))
    ]
    likes = {"field": "likes"}
    rules.append(
        _rule(
            "popular-and-flagged",
            {
                "all": [
                    {"input": likes, "comparator": "GREATER_THAN", "threshold": 10_000},
                    {"input": "AUTHOR", "signal": "USER_STRIKE_VALUE"}
                    | {"comparator": "GREATER_THAN_OR_EQUALS", "threshold": 3},
                ]
            },
        )
    )
    rules.append(_rule("no-text", {"input": text, "comparator": "IS_NOT_PROVIDED"}))
    refund = {
        "all": [
            {"input": likes, "comparator": "LESS_THAN", "threshold": 0},
            _leaf(all_text, "TEXT", values=["refund"]),
        ]
    }
    fee = _leaf(text, "TEXT", values=["wire the fee"]) | {"substring": True}
    rules.append(_rule("nested", {"any": [refund, fee]}))
    assert len(rules) == 20
    photo_rule = {"input": "ANY_IMAGE", "signal": "IMAGE_SIMILARITY_MATCH", "banks": [BANK_ID]}
    rules.append(_rule("known-image", photo_rule) | {"itemTypes": ["photo"]})
    post_fields = [
        {"name": "text", "type": "STRING", "required": True},
        {"name": "author", "type": "RELATED_ITEM", "required": True},
        {"name": "location", "type": "GEOHASH"},
        {"name": "likes", "type": "NUMBER"},
    ]
    photo_fields = [
        {"name": "caption", "type": "STRING"},
        {"name": "image", "type": "IMAGE", "required": True},
        {"name": "author", "type": "RELATED_ITEM", "required": True},
    ]
    return {
        "itemTypes": [
            {"id": "user", "name": "User", "kind": "USER", "fields": [_field("username")]},
            {"id": "post", "name": "Post", "kind": "CONTENT", "fields": post_fields}
            | {"roles": {"creatorId": "author"}},
            {"id": "photo", "name": "Photo", "kind": "CONTENT", "fields": photo_fields}
            | {"roles": {"creatorId": "author"}},
        ],
        "actions": [{"id": "notify", "name": "Notify", "callbackUrl": f"{receiver_url}/notify"}],
        "banks": [
            _bank("big-bank", "TEXT", values=bank(terms, random.Random(7))),
            _bank("patterns", "REGEX", values=patterns),
            _bank("places", "LOCATION", locations=circles + cells),
            _bank(BANK_ID, "HASH") | {"distance": 31},  # filled by `coop banks import`
        ],
        "rules": rules,
    }


SIGNALS = {
    "TEXT": "TEXT_MATCHING_CONTAINS_TEXT",
    "REGEX": "TEXT_MATCHING_CONTAINS_REGEX",
    "VARIANT": "TEXT_MATCHING_CONTAINS_VARIANT",
    "GEO": "GEO_CONTAINED_WITHIN",
}


def _leaf(source: object, signal: str, **matching: list) -> dict:
    return {"input": source, "signal": SIGNALS[signal], **matching}


def _field(name: str) -> dict:
    return {"name": name, "type": "STRING"}


def _bank(bank_id: str, kind: str, **entries: list) -> dict:
    return {"id": bank_id, "name": bank_id, "kind": kind, **entries}


def _rule(rule_id: str, condition: dict) -> dict:
    if "input" in condition:
        condition = {"all": [condition]}
    rule = {"id": rule_id, "name": rule_id, "status": "LIVE", "itemTypes": ["post"]}
    return rule | {"condition": condition, "actions": [{"id": "notify"}]}


def _words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choices("bcdfghklmnprstvz", k=3)) + "ix" + str(i) for i in range(n)]


def _geohash(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(GEOHASH_ALPHABET, k=length))


def _texts(rng: random.Random, n: int) -> list[str]:
    """About 1 KB of ordinary sentences each (the clean corpus)."""
    _, _, negatives = corpus()
    return corpus_texts([], negatives, rng, n)


def make_item(item_id: str, text: str, rng: random.Random) -> dict:
    return {
        "id": item_id,
        "typeId": "post",
        "data": {
            "text": text,
            "author": {"id": f"user-{rng.randrange(5000)}", "typeId": "user"},
            "location": _geohash(rng, 7),
            "likes": rng.randrange(20_000),
        },
    }


def _prepare(database_url: str, receiver: Receiver, rng: random.Random) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "bench.yaml"
        path.write_text(yaml.safe_dump(configuration(receiver.url, rng)))
        run_coop(["config", "apply", str(path)], database_url)
    insert_api_key(database_url)


def _submit(http: httpx.Client, items: list[dict]) -> None:
    response = http.post("/api/v1/items/async/", json={"items": items})
    response.raise_for_status()


def _evaluated(database_url: str, prefix: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM ingest_itemsubmission"
            " WHERE evaluated_at IS NOT NULL AND item_id LIKE %s",
            (prefix + "%",),
        ).fetchone()[0]


def _wait_evaluated(database_url: str, prefix: str, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while (done := _evaluated(database_url, prefix)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {count} items evaluated in {timeout:.0f} s")
        time.sleep(0.05)
    return time.monotonic()


def run_evaluate(seconds: float = 20.0) -> Result:
    """Worker throughput: one `coop worker` process evaluating a backlog of posts, then one of
    photos (each image fetched and hashed)."""
    rng = random.Random(11)
    texts = _texts(rng, 300)
    backlog = max(2000, int(seconds * 1000))
    photo_backlog = max(60, int(seconds * 20))
    images = photos(PHOTO_WARMUP + photo_backlog)
    lines, planted = bank_lines(images[PHOTO_WARMUP:], np.random.default_rng(11))
    hashing = hashing_cost(images)
    with (
        scratch_database() as database_url,
        Receiver() as receiver,
        ImageHost(images) as image_host,
        tempfile.TemporaryDirectory() as scratch,
    ):
        _prepare(database_url, receiver, rng)
        bank_file = Path(scratch) / "bank.txt"
        bank_file.write_text("\n".join(lines) + "\n")
        run_coop(["banks", "import", BANK_ID, str(bank_file)], database_url)
        with (
            web_server(database_url, workers=1) as base_url,
            httpx.Client(base_url=base_url, headers={"X-API-KEY": BENCH_KEY}) as http,
            worker(database_url, concurrency=2),
        ):
            warmup = [make_item(f"w{i}", texts[i % len(texts)], rng) for i in range(200)]
            for start in range(0, len(warmup), BATCH):
                _submit(http, warmup[start : start + BATCH])
            _wait_evaluated(database_url, "w", len(warmup), timeout=300)
            items = [make_item(f"b{i}", texts[i % len(texts)], rng) for i in range(backlog)]
            bodies = [items[i : i + BATCH] for i in range(0, backlog, BATCH)]
            started = time.monotonic()
            for body in bodies:
                _submit(http, body)
            finished = _wait_evaluated(database_url, "b", backlog, timeout=600)
            photo_rate, fetches = _photos(http, database_url, image_host, photo_backlog, rng)
        with psycopg.connect(database_url) as conn:
            executions = conn.execute(
                "SELECT count(*) FROM rules_ruleexecution e JOIN ingest_itemsubmission s"
                " ON s.id = e.submission_id WHERE s.item_id LIKE 'b%%'"
            ).fetchone()[0]
            matches = conn.execute(
                "SELECT count(*) FROM rules_ruleexecution e JOIN ingest_itemsubmission s"
                " ON s.id = e.submission_id WHERE s.item_id LIKE 'im%%' AND e.rule_id ="
                " 'known-image' AND e.outcome = 'PASSED'"
            ).fetchone()[0]
    rate = backlog / (finished - started)
    return Result(
        scenario="evaluate",
        metrics={
            "items_per_s": rate,
            "rule_evaluations_per_s": executions / (finished - started),
            "items": backlog,
            "rules": 20,
            "bank_terms": 10_000,
            "image_items_per_s": photo_rate,
            "image_items": photo_backlog,
            "image_fetches": fetches,
            "image_matches": matches,
            "image_matches_planted": planted,
            "image_bank_hashes": BANK_HASHES,
            **hashing,
        },
        targets={"items_per_s": ">= 1000"},
    )


def make_photo(item_id: str, url: str, rng: random.Random) -> dict:
    return {
        "id": item_id,
        "typeId": "photo",
        "data": {
            "caption": f"photo {item_id}",
            "image": url,
            "author": {"id": f"user-{rng.randrange(5000)}", "typeId": "user"},
        },
    }


def _photos(
    http: httpx.Client, database_url: str, host: ImageHost, count: int, rng: random.Random
) -> tuple[float, int]:
    """Photo items per second through the worker, and the image fetches they caused."""
    warmup = [make_photo(f"iw{i}", url, rng) for i, url in enumerate(host.urls(0, PHOTO_WARMUP))]
    _submit(http, warmup)
    _wait_evaluated(database_url, "iw", len(warmup), timeout=300)
    before = host.requests
    items = [make_photo(f"im{i}", url, rng) for i, url in enumerate(host.urls(PHOTO_WARMUP, count))]
    started = time.monotonic()
    for start in range(0, count, PHOTO_BATCH):
        _submit(http, items[start : start + PHOTO_BATCH])
    finished = _wait_evaluated(database_url, "im", count, timeout=900)
    return count / (finished - started), host.requests - before


def run_e2e(seconds: float = 20.0, rate: int = 200) -> Result:
    """Item submitted → webhook received, at `rate` items/s for `seconds`."""
    rng = random.Random(13)
    texts = _texts(rng, 300)
    sent: dict[str, float] = {}
    with scratch_database() as database_url, Receiver() as receiver:
        _prepare(database_url, receiver, rng)
        with (
            web_server(database_url, workers=1) as base_url,
            httpx.Client(base_url=base_url, headers={"X-API-KEY": BENCH_KEY}) as http,
            worker(database_url, concurrency=8),
        ):
            _submit(http, [make_item("warm", f"{texts[0]} {E2E_MARKER}", rng)])
            deadline = time.monotonic() + 300
            while not receiver.snapshot():
                if time.monotonic() > deadline:
                    raise RuntimeError("the warm-up webhook never arrived")
                time.sleep(0.1)
            tick = 0.1
            per_tick = max(1, round(rate * tick))
            n = 0
            next_at = time.monotonic()
            end_at = next_at + seconds
            while next_at < end_at:
                batch = []
                for _ in range(per_tick):
                    text = texts[n % len(texts)]
                    batch.append(make_item(f"e{n}", f"{text[:900]} {E2E_MARKER}", rng))
                    n += 1
                stamp = time.time()
                for item in batch:
                    sent[item["id"]] = stamp
                threading.Thread(target=_submit, args=(http, batch), daemon=True).start()
                next_at += tick
                time.sleep(max(0.0, next_at - time.monotonic()))
            drain_until = time.monotonic() + 60
            while time.monotonic() < drain_until:
                if len({r.item_id for r in receiver.snapshot()} & sent.keys()) >= len(sent):
                    break
                time.sleep(0.2)
            time.sleep(2)  # late duplicates, if any, would arrive now
        received = [r for r in receiver.snapshot() if r.item_id in sent]
        with psycopg.connect(database_url) as conn:
            failed_attempts, errors = conn.execute(
                "SELECT count(*), array_agg(DISTINCT left(error, 120))"
                " FROM enforcement_deliveryattempt WHERE status_code IS DISTINCT FROM 200"
            ).fetchone()
    first_arrival: dict[str, float] = {}
    ids_per_item: dict[str, set[str]] = {}
    for r in received:
        first_arrival.setdefault(r.item_id, r.at)
        ids_per_item.setdefault(r.item_id, set()).add(r.delivery_id)
    latencies = [(first_arrival[i] - sent[i]) * 1000 for i in first_arrival]
    if failed_attempts:
        print(f"e2e: failed delivery attempts: {errors}", file=sys.stderr)
    repeats = sum(c - 1 for c in Counter(r.delivery_id for r in received).values())
    return Result(
        scenario="e2e",
        metrics={
            "items_per_s": len(sent) / seconds,
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99),
            "sent": len(sent),
            "lost": len(sent) - len(first_arrival),
            "duplicated": sum(len(ids) - 1 for ids in ids_per_item.values()),
            "redelivered_same_id": repeats,
            "failed_attempts": failed_attempts,
        },
        targets={"p95_ms": "< 2000", "lost": "< 1", "duplicated": "< 1", "items_per_s": ">= 190"},
    )
