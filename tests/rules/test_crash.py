"""A worker killed in the middle of an evaluation loses nothing and runs nothing twice."""

from __future__ import annotations

import signal
import time

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from coop.enforcement.models import ActionExecution, Delivery
from coop.ingest.models import ItemSubmission
from coop.rules.models import RuleExecution
from coop.rules.tasks import evaluate_submissions
from coop.tasks import housekeeping_cron
from processes import FAST_RECOVERY, database_url_for_tests, start_worker, stop, wait_until
from rules.test_engine import AUTHOR, CONFIG, apply, submit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


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


def test_housekeeping_interval_is_a_cron_line():
    assert housekeeping_cron(60) == "* * * * *"  # the default: every minute
    assert housekeeping_cron(1) == "* * * * * */1"
    assert housekeeping_cron(15) == "* * * * * */15"
    assert housekeeping_cron(600) == "*/10 * * * *"
    assert housekeeping_cron(3600) == "0 * * * *"
    for unusable in (0, 7, 45, 90, 7200):
        with pytest.raises(ImproperlyConfigured):
            housekeeping_cron(unusable)


def test_worker_killed_mid_evaluation_is_recovered_by_another_worker(api):
    apply(CONFIG)
    (sid,) = submit(api, ("k1", {"text": "free money", "author": AUTHOR}))
    blocker = psycopg.connect(database_url_for_tests())
    # Hold the submission's row: the worker's evaluation blocks right in the middle.
    blocker.execute("SELECT 1 FROM ingest_itemsubmission WHERE id = %s FOR UPDATE", (sid,))
    worker = start_worker()
    try:
        wait_until(lambda: job_status() == "doing", 60, "the worker never started the evaluation")
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

    # A surviving worker's housekeeping finds the dead worker's job (no heartbeat), puts it
    # back, and runs it: nobody calls anything by hand.
    survivor = start_worker(**FAST_RECOVERY)
    try:
        wait_until(
            lambda: job_status() is None,  # done (successful jobs are deleted)
            45,
            "the surviving worker did not recover the dead worker's evaluation",
        )
    finally:
        stop(survivor)
    assert survivor.returncode == 0
    assert ItemSubmission.objects.get(pk=sid).evaluated_at is not None

    evaluate_submissions(submission_ids=[sid])  # a duplicate run, for good measure
    assert sorted(ActionExecution.objects.values_list("action_id", flat=True)) == [
        "delete",
        "label",
    ]
    assert Delivery.objects.count() == 2
    assert RuleExecution.objects.filter(submission_id=sid, rule_id="scam-live").count() == 1
