"""`coop bench bulk`: a bulk action of 10,000 ids, until every webhook is delivered.

A scratch database gets a `post` item type, a policy and a webhook action pointing at a local
receiver, and `size` stored posts (COPY). A bulk action on all their ids is prepared and
confirmed exactly as the console does (coop.review.bulk_actions, in a child process on the
scratch database), and real `coop worker` processes run it: the measure is the time from the
confirmation until the receiver has every item's webhook (target < 60 s at 10,000 ids).
Lost and duplicated webhooks are counted by item and by Coop-Delivery-Id. The action applies
no strikes (a strike-applying one adds a strike record per item, about as much work again).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg
import yaml

from coop.bench.harness import Receiver, Result, run_coop, scratch_database, worker

SIZE = 10_000
WORKER_CONCURRENCY = 4
DEADLINE_SECONDS = 600

_START = """
from coop.review import bulk_actions
from coop.enforcement.models import BulkActionJob
ids = open({ids_path!r}).read()
requests = [{{"actionId": "notify", "policyIds": ["spam"], "parameters": {{}}}}]
job = bulk_actions.prepare("post", ids, requests, "bench", None)
assert bulk_actions.start(job)
print(job.pk, job.total, job.unknown_count)
"""


def configuration(receiver_url: str) -> dict:
    return {
        "itemTypes": [
            {
                "id": "post",
                "name": "Post",
                "kind": "CONTENT",
                "fields": [
                    {"name": "text", "type": "STRING", "required": True},
                    {"name": "author", "type": "RELATED_ITEM"},
                ],
                "roles": {"creatorId": "author"},
            },
            {"id": "user", "name": "User", "kind": "USER", "fields": []},
        ],
        "policies": [{"id": "spam", "name": "Spam"}],
        "actions": [
            {
                "id": "notify",
                "name": "Notify",
                "callbackUrl": f"{receiver_url}/notify",
            }
        ],
    }


def _store_items(database_url: str, size: int) -> list[str]:
    ids = [f"bulk-{i}" for i in range(size)]
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        copy = (
            "COPY ingest_itemsubmission (item_id, item_type_id, item_type_version, data, source,"
            " creator_id, creator_type_id, submitted_at) FROM STDIN"
        )
        with cursor.copy(copy) as out:
            for i, item_id in enumerate(ids):
                author = f"user-{i % 2000}"
                data = {"text": f"offer {i}", "author": {"id": author, "typeId": "user"}}
                out.write_row((item_id, "post", 1, json.dumps(data), "API", author, "user", "now"))
    return ids


def run(seconds: float = 0.0, size: int = SIZE) -> Result:
    """`seconds` is unused: the scenario runs until the bulk action is delivered."""
    with (
        scratch_database() as database_url,
        Receiver() as receiver,
        tempfile.TemporaryDirectory() as scratch,
    ):
        config = Path(scratch) / "bench.yaml"
        config.write_text(yaml.safe_dump(configuration(receiver.url)))
        run_coop(["config", "apply", str(config)], database_url)
        ids = _store_items(database_url, size)
        ids_path = Path(scratch) / "ids.txt"
        ids_path.write_text("\n".join(ids))
        with worker(database_url, concurrency=WORKER_CONCURRENCY):
            started = time.monotonic()
            run_coop(["shell", "-c", _START.format(ids_path=str(ids_path))], database_url)
            done_at = None
            deadline = started + DEADLINE_SECONDS
            wanted = set(ids)
            while time.monotonic() < deadline:
                if done_at is None and _finished(database_url):
                    done_at = time.monotonic()
                if {r.item_id for r in receiver.snapshot()} >= wanted:
                    break
                time.sleep(0.2)
            delivered_at = time.monotonic()
            time.sleep(2)  # late duplicates, if any, would arrive now
    received = [r for r in receiver.snapshot() if r.item_id in wanted]
    per_item: dict[str, set[str]] = {}
    for r in received:
        per_item.setdefault(r.item_id, set()).add(r.delivery_id)
    repeats = sum(c - 1 for c in Counter(r.delivery_id for r in received).values())
    return Result(
        scenario="bulk",
        metrics={
            "ids": size,
            "run_s": (done_at or delivered_at) - started,
            "delivered_s": delivered_at - started,
            "lost": size - len(per_item),
            "duplicated": sum(len(d) - 1 for d in per_item.values()),
            "redelivered_same_id": repeats,
        },
        targets={"delivered_s": "< 60", "lost": "< 1", "duplicated": "< 1"},
    )


def _finished(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT status FROM enforcement_bulkactionjob").fetchone()
    return row is not None and row[0] == "DONE"
