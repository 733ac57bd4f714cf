"""A worker killed in the middle of an evaluation loses nothing and runs nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from procrastinate.contrib.django import app
from psycopg.conninfo import make_conninfo

from coop.enforcement.models import ActionExecution, Delivery
from coop.ingest.models import ItemSubmission
from coop.rules.models import RuleExecution
from coop.rules.tasks import evaluate_submissions
from coop.tasks import retry_stalled_jobs
from rules.test_engine import AUTHOR, CONFIG, apply, submit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def database_url_for_tests() -> str:
    return make_conninfo(os.environ["DATABASE_URL"], dbname=connection.settings_dict["NAME"])


def job_status() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM procrastinate_jobs WHERE task_name = 'coop.evaluate_submissions'"
        )
        row = cursor.fetchone()
        return row[0] if row else None


def _wait_for_dead_sessions() -> None:
    """The killed worker's server sessions end once they notice; wait, to leave a clean DB."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)


def test_worker_killed_mid_evaluation(api):
    apply(CONFIG)
    (sid,) = submit(api, ("k1", {"text": "free money", "author": AUTHOR}))
    blocker = psycopg.connect(database_url_for_tests())
    # Hold the submission's row: the worker's evaluation blocks right in the middle.
    blocker.execute("SELECT 1 FROM ingest_itemsubmission WHERE id = %s FOR UPDATE", (sid,))
    worker = subprocess.Popen(
        [sys.executable, "-m", "coop", "worker", "--concurrency", "1"],
        env={**os.environ, "DATABASE_URL": database_url_for_tests()},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while job_status() != "doing":
            assert time.monotonic() < deadline, "the worker never started the evaluation"
            time.sleep(0.1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        blocker.rollback()
        blocker.close()
        _wait_for_dead_sessions()
    assert not ActionExecution.objects.exists()  # the killed evaluation left no trace
    assert ItemSubmission.objects.get(pk=sid).evaluated_at is None
    assert job_status() == "doing"  # stuck with its dead worker

    # The periodic task finds the dead worker's job (no heartbeat) and puts it back.
    async def retry():
        with_dead_workers = app.job_manager.get_stalled_jobs
        app.job_manager.get_stalled_jobs = lambda: with_dead_workers(seconds_since_heartbeat=0)
        try:
            await retry_stalled_jobs(timestamp=0)
        finally:
            app.job_manager.get_stalled_jobs = with_dead_workers
            await sync_to_async(connections.close_all)()  # the connection its queries used

    # In a thread of its own: another test's browser may have an event loop running here.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, retry()).result()
    assert job_status() == "todo"

    evaluate_submissions(submission_ids=[sid])  # the retried task
    evaluate_submissions(submission_ids=[sid])  # and a duplicate run, for good measure
    assert ItemSubmission.objects.get(pk=sid).evaluated_at is not None
    assert sorted(ActionExecution.objects.values_list("action_id", flat=True)) == [
        "delete",
        "label",
    ]
    assert Delivery.objects.count() == 2
    assert RuleExecution.objects.filter(submission_id=sid, rule_id="scam-live").count() == 1
