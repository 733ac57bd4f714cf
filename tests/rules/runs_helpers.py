"""Shared parts of the backtest and retroaction tests: a configuration, stored posts, steps."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import psycopg
from django.db import connection
from django.utils import timezone

from coop.ingest.models import ItemSubmission
from coop.rules.run_tasks import work_rule_run
from processes import database_url_for_tests

CONFIG = """
itemTypes:
  - id: user
    name: User
    kind: USER
    fields: [{name: username, type: STRING}]
  - id: post
    name: Post
    kind: CONTENT
    fields:
      - {name: text, type: STRING, required: true}
      - {name: author, type: RELATED_ITEM}
    roles: {creatorId: author}
  - id: comment
    name: Comment
    kind: CONTENT
    fields: [{name: text, type: STRING, required: true}]
policies:
  - {id: scams, name: Scams, penalty: HIGH}
actions:
  - {id: delete, name: Delete, callbackUrl: "%(receiver)s/delete", itemTypes: [post]}
  - {id: label, name: Label, callbackUrl: "%(receiver)s/label"}
rules:
  - id: scam
    name: Scam detector
    status: %(status)s
    itemTypes: [post]
    policies: [scams]
    actions: [delete, label]
    condition:
      all:
        - {input: {field: text}, signal: TEXT_MATCHING_CONTAINS_TEXT, values: [scam]}
"""

WEEK = timedelta(days=7)


def config(status: str = "LIVE", receiver: str = "http://127.0.0.1:9") -> str:
    return CONFIG % {"status": status, "receiver": receiver}


def store(count: int, *, every: int = 3, type_id: str = "post", at: datetime | None = None):
    """`count` stored posts, one in `every` of them matching the rule ("scam"); their ids."""
    at = at or timezone.now() - timedelta(hours=1)
    rows = []
    for i in range(count):
        text = f"scam offer {i}" if i % every == 0 else f"hello {i}"
        data = {"text": text, "author": {"id": f"u-{i % 5}", "typeId": "user"}}
        rows.append(
            ItemSubmission(
                item_id=f"{type_id}-{i}",
                item_type_id=type_id,
                item_type_version=1,
                data=data if type_id == "post" else {"text": text},
                source="API",
                creator_id=f"u-{i % 5}" if type_id == "post" else None,
                creator_type_id="user" if type_id == "post" else None,
                submitted_at=at,
            )
        )
    return [s.pk for s in ItemSubmission.objects.bulk_create(rows)]


def pending_steps() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args FROM procrastinate_jobs WHERE task_name = 'coop.work_rule_run'"
            " AND status = 'todo' ORDER BY id"
        )
        return [a if isinstance(a, dict) else json.loads(a) for (a,) in cursor]


def run_steps(limit: int = 1000) -> int:
    """Work the waiting run steps as the worker would, until none is left; how many ran."""
    for done in range(limit):
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM procrastinate_jobs WHERE id = (SELECT min(id) FROM procrastinate_jobs"
                " WHERE status = 'todo' AND task_name = 'coop.work_rule_run') RETURNING args"
            )
            row = cursor.fetchone()
        if row is None:
            return done
        args = row[0] if isinstance(row[0], dict) else json.loads(row[0])
        work_rule_run(**args)
    raise AssertionError("the run did not finish")


@contextlib.contextmanager
def held_sample(run_id: int, submission_id: int) -> Iterator[None]:
    """An uncommitted sample row of (run, submission) in another session: the worker's step
    that keeps the same sample waits on it in the middle of its transaction, after it has
    evaluated (and, in a retroaction, executed) its chunk. Rolled back on exit."""
    holder = psycopg.connect(database_url_for_tests())
    holder.execute(
        "INSERT INTO rules_rulerunsample (run_id, submission_id, item_id, item_type_id,"
        " submitted_at, result) VALUES (%s, %s, 'held', 'post', now(), '{}')",
        (run_id, submission_id),
    )
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def wait_for_dead_sessions(seconds: float = 10) -> None:
    """The killed worker's server sessions end once they notice; wait, to leave a clean DB."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)


def step_job_status() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM procrastinate_jobs WHERE task_name = 'coop.work_rule_run'"
            " ORDER BY id DESC LIMIT 1"
        )
        row = cursor.fetchone()
        return row[0] if row else None
