"""With DATABASE_REPLICA_URL set, the dashboards read the replica: here a second database
holding different rollups than the primary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections

from coop.insights import queries
from coop.insights.models import RuleActionHour, RuleHour
from coop.insights.queries import Window
from coop.insights.replica import REPLICA, read_alias

HOUR = datetime(2026, 11, 2, 10, tzinfo=UTC)
NAME = "coop_insights_replica_test"


@pytest.fixture
def replica(db, monkeypatch):
    """A second database as the `replica` alias."""
    s = connection.settings_dict
    admin = psycopg.connect(
        dbname="postgres",
        user=s["USER"],
        password=s["PASSWORD"],
        host=s["HOST"],
        port=s["PORT"],
        autocommit=True,
    )
    admin.execute(f"DROP DATABASE IF EXISTS {NAME}")
    admin.execute(f"CREATE DATABASE {NAME}")
    config = {**connections.settings["default"], "NAME": NAME, "TEST": {"NAME": NAME}}
    # A new dict: the connection handler keeps its own (the default alias only).
    monkeypatch.setattr(settings, "DATABASES", {**settings.DATABASES, REPLICA: config})
    # A connection made here (Django's test case allows dynamically created ones).
    connections[REPLICA] = type(connections["default"])(config, alias=REPLICA)
    try:
        with connections[REPLICA].schema_editor() as editor:
            editor.create_model(RuleHour)
            editor.create_model(RuleActionHour)
        yield connections[REPLICA]
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        admin.execute(f"DROP DATABASE IF EXISTS {NAME}")
        admin.close()


def test_dashboards_read_the_replica_when_set(replica):
    RuleHour.objects.create(hour=HOUR, rule_id="r1", environment="LIVE", evaluations=5, passes=1)
    with replica.cursor() as cursor:
        cursor.execute(
            "INSERT INTO insights_rulehour"
            " (hour, rule_id, environment, evaluations, passes, errors)"
            " VALUES (%s, 'r1', 'LIVE', 50, 20, 0)",
            [HOUR],
        )
    assert read_alias() == REPLICA
    window = Window(HOUR, HOUR + timedelta(hours=1))
    (totals,) = queries.rule_totals(window)
    assert (totals.evaluations, totals.passes) == (50, 20)  # the replica's rows, not the primary's


def test_without_a_replica_the_primary_is_read():
    assert REPLICA not in settings.DATABASES
    assert read_alias() == "default"
