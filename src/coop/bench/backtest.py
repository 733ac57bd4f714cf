"""`coop bench backtest`: a 20-leaf rule backtested over stored submissions by a real worker.

The scratch database gets the configuration (one DRAFT rule of 20 leaves: 12 text leaves and
a regex over the post's text, 7 number and string comparisons, nested in any / all groups so
most items walk every leaf) and N stored posts written with COPY. A backtest of all N is then
started as the console starts one (its row and its first step's job in one transaction) and
one `coop worker` process works it through the real task code path (coop.rules.run_tasks).
Throughput is the evaluated submissions over the time from the selection step to the last.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import yaml

from coop.bench.harness import Result, run_coop, scratch_database, worker
from coop.queueing import defer_expression
from coop.rules.run_tasks import work_rule_run

RULE_ID = "twenty-leaves"
WORDS = [f"w{i}x" for i in range(400)]
LEAVES = 20


def condition() -> dict:
    """20 leaves: any(all(text, number), any(12 texts), regex, ...) so few items pass early."""
    text = {"field": "text"}
    texts = [
        {"input": text, "signal": "TEXT_MATCHING_CONTAINS_TEXT", "values": [f"bad{i}", f"evil{i}"]}
        for i in range(12)
    ]
    regex = {"input": text, "signal": "TEXT_MATCHING_CONTAINS_REGEX", "values": [r"pay\s+\d{4}"]}
    numbers = [
        {"input": {"field": "likes"}, "comparator": "GREATER_THAN", "threshold": 19_990},
        {"input": {"field": "likes"}, "comparator": "LESS_THAN", "threshold": 0},
        {"input": {"field": "score"}, "comparator": "GREATER_THAN_OR_EQUALS", "threshold": 0.995},
        {"input": {"field": "lang"}, "comparator": "EQUALS", "threshold": "xx"},
    ]
    flagged = {
        "all": [
            {"input": {"field": "likes"}, "comparator": "GREATER_THAN", "threshold": 19_000},
            {"input": {"field": "score"}, "comparator": "GREATER_THAN", "threshold": 0.9},
            {"input": {"field": "lang"}, "comparator": "EQUALS", "threshold": "en"},
        ]
    }
    tree = {"any": [*texts, regex, *numbers, flagged]}
    assert _leaf_count(tree) == LEAVES
    return tree


def _leaf_count(node: dict) -> int:
    children = node.get("any") or node.get("all")
    return 1 if children is None else sum(_leaf_count(c) for c in children)


def configuration() -> dict:
    fields = [
        {"name": "text", "type": "STRING", "required": True},
        {"name": "author", "type": "RELATED_ITEM", "required": True},
        {"name": "likes", "type": "NUMBER"},
        {"name": "score", "type": "NUMBER"},
        {"name": "lang", "type": "STRING"},
    ]
    return {
        "itemTypes": [
            {
                "id": "user",
                "name": "User",
                "kind": "USER",
                "fields": [{"name": "username", "type": "STRING"}],
            },
            {"id": "post", "name": "Post", "kind": "CONTENT", "fields": fields}
            | {"roles": {"creatorId": "author"}},
        ],
        "rules": [
            {
                "id": RULE_ID,
                "name": "Twenty leaves",
                "status": "DRAFT",
                "itemTypes": ["post"],
                "condition": condition(),
            }
        ],
    }


def store_submissions(database_url: str, count: int, start: datetime) -> None:
    """`count` posts of about 200 characters with COPY, one a millisecond from `start`."""
    rng = random.Random(5)
    copy_sql = (
        "COPY ingest_itemsubmission (item_id, item_type_id, item_type_version, data, source,"
        " creator_id, creator_type_id, submitted_at) FROM STDIN"
    )
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        with cursor.copy(copy_sql) as copy:
            for i in range(count):
                words = rng.choices(WORDS, k=30)
                if i % 50 == 0:
                    words[rng.randrange(30)] = f"bad{rng.randrange(12)}"
                author = f"user-{rng.randrange(20_000)}"
                data = {
                    "text": " ".join(words),
                    "author": {"id": author, "typeId": "user"},
                    "likes": rng.randrange(20_000),
                    "score": rng.random(),
                    "lang": rng.choice(("en", "fr", "de")),
                }
                at = start + timedelta(milliseconds=i)
                copy.write_row((f"p{i}", "post", 1, json.dumps(data), "API", author, "user", at))
        conn.execute("ANALYZE ingest_itemsubmission")


def start_backtest(database_url: str, size: int, start: datetime, end: datetime) -> int:
    """The run row and its first step's job in one transaction, as the console does."""
    expression, params = defer_expression(work_rule_run, "%s::jsonb")
    with psycopg.connect(database_url) as conn:
        version, condition_data = conn.execute(
            "SELECT version, condition FROM rules_rule WHERE id = %s", (RULE_ID,)
        ).fetchone()
        definition = {
            "id": RULE_ID,
            "name": "Twenty leaves",
            "status": "DRAFT",
            "itemTypes": ["post"],
            "policies": [],
            "actions": [],
            "condition": condition_data,
        }
        run_id = conn.execute(
            "INSERT INTO rules_rulerun (kind, rule_id, rule_version, definition, window_start,"
            " window_end, requested, status, cancel_requested, seed, step, cursor, evaluated,"
            " passed, errored, actions_executed, actions_repeated, actions_refused, error,"
            " created_at) VALUES ('BACKTEST', %s, %s, %s, %s, %s, %s, 'PENDING', false, 7, 0,"
            " 0, 0, 0, 0, 0, 0, 0, '', now()) RETURNING id",
            (RULE_ID, version, json.dumps(definition), start, end, size),
        ).fetchone()[0]
        conn.execute(
            f"SELECT {expression}",
            [*params, json.dumps({"run_id": run_id, "step": 0})],
        )
    return run_id


def _wait_complete(database_url: str, run_id: int, timeout: float) -> tuple:
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT status, evaluated, passed, started_at, finished_at, error"
                " FROM rules_rulerun WHERE id = %s",
                (run_id,),
            ).fetchone()
            if row[0] in ("COMPLETE", "FAILED", "CANCELED"):
                return row
            if time.monotonic() > deadline:
                raise RuntimeError(f"the backtest did not finish in {timeout:.0f} s: {row}")
            time.sleep(0.2)


def run(seconds: float = 20.0, submissions: int = 1_000_000) -> Result:
    """`seconds` is unused: the measure is one backtest of `submissions` submissions."""
    start = datetime.now(UTC) - timedelta(days=30)
    end = start + timedelta(milliseconds=submissions + 1)
    with scratch_database() as database_url, tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "bench.yaml"
        path.write_text(yaml.safe_dump(configuration()))
        run_coop(["config", "apply", str(path)], database_url)
        store_submissions(database_url, submissions, start)
        run_id = start_backtest(database_url, submissions, start, end)
        with worker(database_url, concurrency=1):
            status, evaluated, passed, began, finished, error = _wait_complete(
                database_url, run_id, timeout=max(600.0, submissions / 500)
            )
    if status != "COMPLETE":
        raise RuntimeError(f"the backtest ended {status}: {error}")
    elapsed = (finished - began).total_seconds()
    return Result(
        scenario="backtest",
        metrics={
            "submissions_per_s": evaluated / elapsed,
            "submissions": evaluated,
            "passed": passed,
            "leaves": LEAVES,
            "seconds": elapsed,
        },
        targets={"submissions_per_s": ">= 5000"},
    )
