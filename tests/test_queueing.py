"""Tasks enqueued by code running inside the worker wait for the worker's transaction."""

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction
from procrastinate.contrib.django import app
from psycopg.conninfo import make_conninfo

from coop.enforcement.models import DeliveryEvent
from coop.enforcement.services import create_delivery

pytestmark = pytest.mark.django_db(transaction=True)


def jobs_seen_from_another_connection() -> int:
    test_database = make_conninfo(settings.DATABASE_URL, dbname=connection.settings_dict["NAME"])
    with psycopg.connect(test_database) as conn:
        return conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'coop.deliver'"
        ).fetchone()[0]


def test_a_job_deferred_in_the_worker_commits_with_its_data():
    # The worker swaps procrastinate's connector for its own pool, as `coop worker` does.
    with app.replace_connector(app.connector.get_worker_connector()):
        with transaction.atomic():
            create_delivery(DeliveryEvent.ACTION, "http://127.0.0.1:9/x", {}, {"a": 1})
            assert jobs_seen_from_another_connection() == 0  # not before the data commits
        assert jobs_seen_from_another_connection() == 1


def _fail_after_creating_a_delivery():
    with transaction.atomic():
        create_delivery(DeliveryEvent.ACTION, "http://127.0.0.1:9/x", {}, {"a": 1})
        raise RuntimeError("the decision failed")


def test_a_rolled_back_transaction_leaves_no_job():
    with (
        app.replace_connector(app.connector.get_worker_connector()),
        pytest.raises(RuntimeError),
    ):
        _fail_after_creating_a_delivery()
    assert jobs_seen_from_another_connection() == 0
