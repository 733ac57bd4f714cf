"""The ClickHouse mirror against a real engine (chDB): capture in the event's transaction,
ClickHouse down then back, no duplicates, backfill."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from tests import factories

from coop.enforcement.models import ActionExecution
from coop.review.models import Appeal, Decision, Skip
from coop.rules.models import RoutingDecision, RuleExecution
from coop.warehouse import sink
from coop.warehouse.models import OutboxEntry
from coop.warehouse.tasks import ship_to_clickhouse

pytestmark = pytest.mark.django_db


def rule_execution(rule: str = "r1", outcome: str = "PASSED", at=None) -> RuleExecution:
    return RuleExecution(
        rule_id=rule,
        rule_version=2,
        environment="LIVE",
        submission_id=7,
        item_id="p-1",
        item_type_id="post",
        outcome=outcome,
        result={"outcome": outcome},
        duration_us=40,
        created_at=at or timezone.now(),
    )


def events() -> dict[str, int]:
    """One of each kind of event, through the ORM paths the app uses; the count per table."""
    RuleExecution.objects.bulk_create([rule_execution(), rule_execution("r2", "FAILED")])
    rule_execution("r3", "ERRORED").save()
    q = factories.queue("q")
    item = factories.post("p-1")
    job = factories.report(item, q, policy="spam")  # a job and a report
    ActionExecution.objects.create(
        action_id="delete",
        item_id="p-1",
        item_type_id="post",
        source="RULE",
        policy_ids=["spam"],
        rules=[{"id": "r1", "version": 2, "name": "R1"}],
    )
    ActionExecution.objects.create(
        action_id="ban", item_id="p-1", item_type_id="post", source="API", refused_reason="x"
    )
    RoutingDecision.objects.create(
        kind="REPORT",
        job_id=job.id,
        item_id="p-1",
        item_type_id="post",
        source="REPORT",
        queue_id="q",
    )
    Decision.objects.create(
        job=job,
        queue_id="q",
        item_id="p-1",
        item_type_id="post",
        types=["ACTION"],
        action_ids=["delete"],
        policy_ids=["spam"],
    )
    Skip.objects.create(job=job, queue_id="q")
    Appeal.objects.create(
        appeal_id="a-1",
        job=job,
        appealed_by_type_id="user",
        appealed_by_id="u-1",
        appealed_at=timezone.now(),
        item_id="p-1",
        item_type_id="post",
        actions_taken=["delete"],
    )
    return {
        "rule_executions": 3,
        "jobs": 1,
        "reports": 1,
        "action_executions": 2,
        "routing_decisions": 1,
        "decisions": 1,
        "skips": 1,
        "appeals": 1,
    }


def counts(client, final: bool = True) -> dict[str, int]:
    suffix = " FINAL" if final else ""
    return {
        name: client.query(f"SELECT count() FROM {name}{suffix}").result_rows[0][0]  # noqa: S608
        for name in sink.SOURCES
    }


def test_down_then_back_up_everything_arrives_once(ch, chdb_url, unavailable, settings):
    settings.CLICKHOUSE_URL, requests = unavailable
    assert sink.sync_state()
    expected = events()
    assert sink.pending() == sum(expected.values())

    # Down: the client tried, nothing was lost.
    assert sink.ship(budget_seconds=5) == 0
    assert requests
    assert sink.pending() == sum(expected.values())
    assert counts(ch) == dict.fromkeys(sink.SOURCES, 0)

    # Back (the worker's task): caught up, the outbox empty.
    settings.CLICKHOUSE_URL = chdb_url
    ship_to_clickhouse(timestamp=0)
    assert sink.pending() == 0
    assert counts(ch) == expected

    # A crash after ClickHouse took the rows and before PostgreSQL committed sends them again:
    # still one row per event, with FINAL and once merged.
    sink.backfill(timezone.now() - dt.timedelta(hours=1))
    assert counts(ch) == expected
    for name in sink.SOURCES:
        ch.command(f"OPTIMIZE TABLE {name} FINAL")
    assert counts(ch, final=False) == expected


def test_the_rows_carry_the_event_fields(ch):
    sink.sync_state()
    events()
    assert sink.ship() == 11
    rows = ch.query(
        "SELECT rule_id, rule_version, environment, outcome, duration_us FROM rule_executions"
        " FINAL ORDER BY rule_id"
    ).result_rows
    assert rows == [
        ("r1", 2, "LIVE", "PASSED", 40),
        ("r2", 2, "LIVE", "FAILED", 40),
        ("r3", 2, "LIVE", "ERRORED", 40),
    ]
    executed = ch.query(
        "SELECT action_id, source, policy_ids, rule_ids, refused FROM action_executions FINAL"
        " ORDER BY action_id"
    ).result_rows
    assert executed == [("ban", "API", [], [], True), ("delete", "RULE", ["spam"], ["r1"], False)]
    decision = Decision.objects.get()
    ((job_id, job_created, queue_id),) = ch.query(
        "SELECT job_id, job_created_at, queue_id FROM decisions FINAL"
    ).result_rows
    assert job_id == decision.job_id
    assert queue_id == "q"
    assert job_created.replace(tzinfo=dt.UTC) == decision.job.created_at  # naive UTC


def test_a_rolled_back_event_is_not_captured(ch):
    sink.sync_state()

    def evaluation_that_fails():
        with transaction.atomic():
            rule_execution().save()
            raise RuntimeError("the evaluation failed")

    with pytest.raises(RuntimeError):
        evaluation_that_fails()
    assert sink.pending() == 0


def test_with_the_postgres_warehouse_nothing_is_captured(ch, settings):
    sink.sync_state()
    rule_execution().save()
    assert sink.pending() == 1
    settings.COOP_WAREHOUSE = "postgres"
    assert not sink.sync_state()
    assert sink.pending() == 0  # stale once ClickHouse is off: backfill when it comes back
    rule_execution().save()
    assert OutboxEntry.objects.count() == 0


def test_backfill_command(ch):
    old = timezone.now() - dt.timedelta(days=40)
    RuleExecution.objects.bulk_create(
        [rule_execution(f"r{i}", at=old + dt.timedelta(seconds=i)) for i in range(12)]
    )
    RuleExecution.objects.bulk_create([rule_execution("before", at=old - dt.timedelta(days=1))])
    out = []
    sent = sink.backfill(old, page=5, out=out.append)  # pages of 5: 5, 5, 2
    assert sent["rule_executions"] == 12
    assert out == ["rule_executions: 5", "rule_executions: 10", "rule_executions: 12"]
    call_command(
        "warehouse", "backfill", "--since", (old - dt.timedelta(days=2)).date().isoformat()
    )
    assert counts(ch)["rule_executions"] == 13


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--since", "last tuesday"], "'last tuesday' is not a date"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "--until must be after --since"),
    ],
)
def test_backfill_refuses_bad_dates(ch, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("warehouse", "backfill", *arguments)


def test_backfill_needs_the_clickhouse_warehouse(settings):
    settings.COOP_WAREHOUSE = "postgres"
    with pytest.raises(CommandError, match="COOP_WAREHOUSE is not clickhouse"):
        call_command("warehouse", "backfill", "--since", "2026-01-01")


def test_backfill_reports_clickhouse_down(ch, unavailable, settings):
    settings.CLICKHOUSE_URL, requests = unavailable
    rule_execution().save()
    with pytest.raises(CommandError, match="ClickHouse at CLICKHOUSE_URL failed"):
        call_command("warehouse", "backfill", "--since", "2026-01-01")
    assert requests


def test_status_command(ch, capsys):
    sink.sync_state()
    rule_execution().save()
    call_command("warehouse", "status")
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["warehouse\tclickhouse", "outbox\t1"]


def test_the_engines_copy_is_captured(ch):
    """Rule executions are written with COPY in bulk (coop.rules.engine): the statement trigger
    sees those rows too."""
    sink.sync_state()
    now = timezone.now()
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY rules_ruleexecution (rule_id, rule_version, environment, submission_id,"
            " item_id, item_type_id, outcome, over_limit, result, duration_us, created_at)"
            " FROM STDIN"
        ) as copy,
    ):
        for i in range(3):
            copy.write_row(["r", 1, "LIVE", i, f"i{i}", "post", "PASSED", False, "{}", 1, now])
    assert sink.pending() == 3
    assert sink.ship() == 3
    assert counts(ch)["rule_executions"] == 3
