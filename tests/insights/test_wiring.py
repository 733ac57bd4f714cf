"""What other pages and the worker use: the rules pages' includes, the periodic task, and the
triggers on every event table (a re-created table, e.g. partitioned, must get them again)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone
from tests.insights import events

from coop.insights import dashboards, queries, tasks
from coop.insights.models import Delta, RuleHour
from coop.insights.queries import Window, truncate
from coop.insights.triggers import TRIGGERS


@pytest.mark.django_db
def test_every_event_table_has_its_trigger():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE 'insights_%%'"
        )
        installed = set(cursor.fetchall())
    assert {(name, table) for name, table, _ in TRIGGERS} <= installed


@pytest.mark.django_db
def test_the_periodic_task_folds_samples_and_tests_alarms():
    now = timezone.now()
    events.rule_executions([("r1", "LIVE", "PASSED", now)] * 4)
    tasks.maintain_rollups(timestamp=0)
    assert Delta.objects.count() == 0
    assert RuleHour.objects.get().passes == 4


@pytest.mark.django_db
def test_the_rules_pages_includes():
    now = truncate(timezone.now(), "hour")
    events.rule_executions([("r1", "LIVE", "PASSED", now)] * 3 + [("r1", "LIVE", "ERRORED", now)])
    events.action_execution("ban", "RULE", now, rules=["r1"])
    tasks.maintain_rollups(timestamp=0)

    activity = queries.rule_activity(["r1", "r2"], days=14)
    assert activity["r1"][-1] == 3
    assert activity["r2"] == (0,) * 14
    spark = render_to_string("insights/rule_sparkline.html", {"values": activity["r1"]})
    assert 'aria-label="Passes per day, last 14 days: 0, 0' in spark
    assert "<polyline" in spark

    window = Window(now - timedelta(hours=23), now + timedelta(hours=1))
    series = queries.rule_activity_series("r1", window)
    assert (series.passes[-1], series.errors[-1], series.actions[-1]) == (3, 1, 1)
    choice = dashboards.choose_window({"range": "24h"})
    html = render_to_string(
        "insights/rule_activity.html",
        {"chart": dashboards.rule_activity_chart("r1", window), "choice": choice},
    )
    assert "Activity" in html
    assert "<svg" in html
    assert 'href="/insights/rules/r1/activity.csv?range=24h&amp;bucket=hour"' in html


@pytest.mark.django_db
def test_the_rule_activity_csv_needs_the_rules_dashboard_permission(client):
    import factories

    now = truncate(timezone.now(), "hour")
    events.rule_executions([("r1", "LIVE", "PASSED", now)] * 2)
    tasks.maintain_rollups(timestamp=0)
    client.force_login(factories.user("ext@example.com", "External Moderator"))
    assert client.get("/insights/rules/r1/activity.csv").status_code == 403
    client.force_login(factories.user("mod@example.com", "Moderator"))  # VIEW_RULES_DASHBOARD
    response = client.get("/insights/rules/r1/activity.csv?range=24h&bucket=hour")
    rows = response.content.decode().splitlines()
    assert rows[0] == "Bucket start (UTC),Passes,Actions,Errors"
    assert rows[-1].endswith(",2,0,0")
