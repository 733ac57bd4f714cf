"""`coop bench ingest`: POST /api/v1/items/async/ against the same rows inserted directly.

Both sides run in the same invocation against the same PostgreSQL, in alternating rounds so
that both see the same machine: 8 clients sending batches of 100 items of about 1 KB to
`coop web`, then 8 writers inserting as many rows with `executemany` (batches of 100, one
commit per batch). The ratio says how much of the database's own insert rate the API keeps.

The clients are no cheaper than a platform's: each request builds its own items (new ids) and
lets httpx encode them (`json=`), on the same cores as Coop and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import psycopg

from coop.bench.harness import (
    BENCH_KEY,
    Result,
    insert_api_key,
    percentile,
    scratch_database,
    web_server,
)

BATCH = 100
CLIENTS = 8
WORDS = ("the quick brown fox jumps over the lazy dog while reviewers keep the queue calm").split()

POST_TYPE = {
    "fields": [
        {"name": "text", "type": "STRING", "required": True},
        {"name": "author", "type": "RELATED_ITEM", "required": True},
        {"name": "createdAt", "type": "DATETIME"},
        {"name": "images", "type": "ARRAY", "items": "IMAGE"},
    ],
    "roles": {"creatorId": "author", "createdAt": "createdAt"},
}


def make_item(n: int) -> dict:
    text = " ".join(WORDS[(n + i) % len(WORDS)] for i in range(150))[:900]
    return {
        "id": f"post-{n}",
        "typeId": "post",
        "data": {
            "text": text,
            "author": {"id": f"user-{n % 5000}", "typeId": "user"},
            "createdAt": "2026-11-21T10:00:00Z",
            "images": [f"https://cdn.example.com/img/{n}.jpg"],
        },
    }


def prepare(database_url: str) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO catalog_itemtype (id, name, version, created_at, updated_at, kind,"
            " description, fields, roles, hidden_fields)"
            " VALUES ('post', 'Post', 1, %s, %s, 'CONTENT', '', %s, %s, '{}')",
            (now, now, json.dumps(POST_TYPE["fields"]), json.dumps(POST_TYPE["roles"])),
        )
    insert_api_key(database_url)


def drive_api(base_url: str, seconds: float, first: int) -> tuple[int, list[float], int]:
    """Send batches from CLIENTS threads for `seconds`: items accepted, latencies, errors.
    Items are numbered from `first`, so every round sends new items."""
    headers = {"X-API-KEY": BENCH_KEY}
    latencies: list[float] = []
    counters = {"items": 0, "errors": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            batch = index
            while time.monotonic() < stop_at:
                start = first + batch * BATCH
                items = [make_item(n) for n in range(start, start + BATCH)]
                started = time.perf_counter()
                response = http.post("/api/v1/items/async/", json={"items": items})
                elapsed = (time.perf_counter() - started) * 1000
                batch += CLIENTS
                with lock:
                    if response.status_code == 202:
                        counters["items"] += BATCH
                        latencies.append(elapsed)
                    else:
                        counters["errors"] += 1

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    return counters["items"], latencies, counters["errors"]


def drive_direct(database_url: str, total_items: int) -> float:
    """Insert `total_items` rows with CLIENTS writers; returns rows per second."""
    batches = max(1, total_items // BATCH)
    rows = [
        [
            (
                item["id"],
                "post",
                1,
                json.dumps(item["data"]),
                "API",
                item["data"]["author"]["id"],
                "user",
                datetime.now(UTC),
            )
            for item in (make_item(b * BATCH + i) for i in range(BATCH))
        ]
        for b in range(200)
    ]
    sql = (
        "INSERT INTO ingest_itemsubmission (item_id, item_type_id, item_type_version, data,"
        " source, creator_id, creator_type_id, submitted_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)"
    )

    def writer(index: int) -> None:
        with psycopg.connect(database_url) as conn:
            for b in range(index, batches, CLIENTS):
                with conn.cursor() as cur:
                    cur.executemany(sql, rows[b % len(rows)])
                conn.commit()

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(writer, range(CLIENTS)))
    return batches * BATCH / (time.perf_counter() - started)


ROUNDS = 4


def run(seconds: float = 20.0, web_workers: int = 2) -> Result:
    api_items = api_seconds = direct_items = direct_seconds = 0.0
    latencies: list[float] = []
    errors = 0
    with scratch_database() as database_url:
        prepare(database_url)
        with web_server(database_url, web_workers) as base_url:
            next_item = 10_000_000  # the warm-up's items come first
            drive_api(base_url, min(3.0, seconds), 0)  # warm-up: connections, caches
            for _ in range(ROUNDS):
                started = time.perf_counter()
                items, round_latencies, round_errors = drive_api(
                    base_url, seconds / ROUNDS, next_item
                )
                api_seconds += time.perf_counter() - started
                next_item += items + CLIENTS * BATCH
                api_items += items
                latencies += round_latencies
                errors += round_errors
                started = time.perf_counter()
                drive_direct(database_url, items)
                direct_seconds += time.perf_counter() - started
                direct_items += max(1, items // BATCH) * BATCH
    api_rate = api_items / api_seconds
    direct_rate = direct_items / direct_seconds
    return Result(
        scenario="ingest",
        metrics={
            "items_per_s": api_rate,
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99),
            "errors": errors,
            "direct_insert_items_per_s": direct_rate,
            "ratio_to_direct_insert": api_rate / direct_rate if direct_rate else 0.0,
        },
        targets={"items_per_s": ">= 5000", "p99_ms": "< 250", "ratio_to_direct_insert": ">= 0.3"},
    )
