"""Time partitions of the event tables: the migration on a database holding rows, forward and
back; partitions made ahead; retention dropping whole months."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from coop.enforcement.models import ActionExecution, Delivery, ExecutionKey, StrikeRecord
from coop.review.models import Decision
from coop.rules.models import RoutingDecision, RuleExecution
from coop.warehouse import partitions
from coop.warehouse.tasks import maintain_event_partitions

UTC = dt.UTC
MIGRATION = ("warehouse", "0001_partition_by_time")


def relkind(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        return cursor.fetchone()[0]


def names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {p.name for p in partitions.partitions(cursor, table)}


def execution(at: dt.datetime, rule: str = "r") -> RuleExecution:
    return RuleExecution.objects.create(
        rule_id=rule,
        rule_version=1,
        environment="LIVE",
        submission_id=1,
        item_id="i",
        item_type_id="post",
        outcome="PASSED",
        result={},
        duration_us=3,
        created_at=at,
    )


def migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


EVENT_TABLES = [  # issue 11: the raw event tables
    RuleExecution._meta.db_table,
    ActionExecution._meta.db_table,
    RoutingDecision._meta.db_table,
    Decision._meta.db_table,
]


@pytest.mark.django_db
def test_the_event_tables_are_partitioned():
    assert sorted(partitions.TABLES) == sorted(EVENT_TABLES)
    for table in EVENT_TABLES:
        assert relkind(table) == "p"
        assert {f"{table}{partitions.LEGACY}", f"{table}{partitions.DEFAULT}"} <= names(table)


@pytest.fixture
def latest_schema_after():
    """Migrations run back and forth leave the database at the latest schema again, as the
    rest of the suite (and the worker processes it starts) expect."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_the_migration_keeps_every_row_forward_and_back():
    now = timezone.now()
    migrate([("warehouse", None)])
    assert relkind("rules_ruleexecution") == "r"
    old = [execution(now - dt.timedelta(days=400)), execution(now)]
    decision = Decision.objects.create(item_id="i", item_type_id="post", types=["IGNORE"])
    routed = RoutingDecision.objects.create(
        kind="REPORT",
        job_id="6f1c1e1e-0000-4000-8000-000000000000",
        item_id="i",
        item_type_id="post",
        source="REPORT",
        queue_id="q",
    )

    migrate([MIGRATION])
    assert relkind("rules_ruleexecution") == "p"
    assert relkind("rules_ruleexecution_plegacy") == "r"
    # The rows stayed where they were: in the old table, now the partition before the boundary.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ONLY rules_ruleexecution_plegacy")
        assert cursor.fetchone()[0] == 2
    assert sorted(RuleExecution.objects.values_list("id", flat=True)) == [e.id for e in old]
    assert Decision.objects.get(id=decision.id).types == ["IGNORE"]
    assert RoutingDecision.objects.get(id=routed.id).queue_id == "q"
    # The id sequence carried on; a row far ahead lands in the default partition.
    later = execution(now + dt.timedelta(days=3650))
    assert later.id > old[-1].id
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rules_ruleexecution_pdefault")
        assert cursor.fetchone()[0] == 1
    this_month = execution(now + dt.timedelta(days=70))  # in a monthly partition made ahead

    migrate([("warehouse", None)])
    assert relkind("rules_ruleexecution") == "r"
    assert sorted(RuleExecution.objects.values_list("id", flat=True)) == sorted(
        [e.id for e in old] + [later.id, this_month.id]
    )
    assert execution(now).id > later.id
    assert Decision.objects.filter(id=decision.id).exists()
    migrate([MIGRATION])
    assert relkind("rules_ruleexecution") == "p"
    assert RuleExecution.objects.count() == 5


def action_execution(at: dt.datetime, key: str | None = None) -> ActionExecution:
    return ActionExecution.objects.create(
        action_id="delete", item_id="i", item_type_id="post", source="RULE",
        idempotency_key=key, created_at=at,
    )  # fmt: skip


def delivery_of(execution: ActionExecution) -> Delivery:
    return Delivery.objects.create(
        event="ACTION", url="https://example.com/hook", body=b"{}", execution=execution
    )


def strike_of(execution: ActionExecution) -> StrikeRecord:
    return StrikeRecord.objects.create(
        user_id="u", user_type_id="user", weight=1, policy_id="spam", execution=execution,
        expires_at=execution.created_at + dt.timedelta(days=30),
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_action_executions_keep_their_rows_keys_and_links_forward_and_back():
    now = timezone.now()
    migrate([("enforcement", "0002_bulk_actions")])
    table = ActionExecution._meta.db_table
    assert relkind(table) == "r"
    keyed = action_execution(now - dt.timedelta(days=400), key="rule:1:r@1:delete")
    plain = action_execution(now)
    delivery, strike = delivery_of(keyed), strike_of(keyed)

    migrate([("warehouse", "0003_partition_action_executions")])
    assert relkind(table) == "p"
    assert count(f"{table}{partitions.LEGACY}") == 2
    assert ExecutionKey.objects.get(key="rule:1:r@1:delete").execution_id == keyed.pk
    assert Delivery.objects.get(pk=delivery.pk).execution == keyed
    assert StrikeRecord.objects.get(pk=strike.pk).execution == keyed
    later = action_execution(now + dt.timedelta(days=70))  # a monthly partition made ahead
    assert count(f"{table}{partitions.LEGACY}") == 2

    migrate([("enforcement", "0002_bulk_actions")])
    assert relkind(table) == "r"
    assert set(ActionExecution.objects.values_list("pk", flat=True)) == {
        keyed.pk, plain.pk, later.pk
    }  # fmt: skip
    assert Delivery.objects.get(pk=delivery.pk).execution == keyed
    # The unique index is back.
    with pytest.raises(IntegrityError), transaction.atomic():
        action_execution(now, key="rule:1:r@1:delete")


@pytest.mark.django_db
def test_retention_clears_what_named_the_action_executions_it_drops():
    """Dropping months (in this test's transaction, rolled back after it): the keys of the
    executions dropped go, deliveries and strike records stay with their link cleared."""
    table = ActionExecution._meta.db_table
    with connection.cursor() as cursor:
        (legacy,) = [
            p for p in partitions.partitions(cursor, table) if p.name.endswith(partitions.LEGACY)
        ]
    old = action_execution(legacy.end - dt.timedelta(days=400), key="old")
    kept = action_execution(legacy.end + dt.timedelta(days=15), key="kept")
    far = action_execution(legacy.end + dt.timedelta(days=3650), key="far")  # default partition
    for e in (old, kept, far):  # as execute_actions claims them
        ExecutionKey.objects.create(key=e.idempotency_key, execution_id=e.pk)
    deliveries = {e.idempotency_key: delivery_of(e) for e in (old, kept, far)}
    strikes = {e.idempotency_key: strike_of(e) for e in (old, kept, far)}
    with connection.cursor() as cursor:  # as if committed: no deferred checks pending
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    dropped, deleted = partitions.drop_expired(table, legacy.end + dt.timedelta(days=1))
    assert dropped == [legacy.name]
    assert deleted == 0
    assert set(ExecutionKey.objects.values_list("key", flat=True)) == {"kept", "far"}
    assert Delivery.objects.get(pk=deliveries["old"].pk).execution_id is None
    assert StrikeRecord.objects.get(pk=strikes["old"].pk).execution_id is None
    assert Delivery.objects.get(pk=deliveries["kept"].pk).execution_id == kept.pk

    dropped, deleted = partitions.drop_expired(table, legacy.end + dt.timedelta(days=3651))
    assert deleted == 1  # the far one, from the default partition
    assert ExecutionKey.objects.count() == 0
    assert not Delivery.objects.filter(execution_id__isnull=False).exists()
    assert not StrikeRecord.objects.filter(execution_id__isnull=False).exists()
    assert Delivery.objects.count() == 3


@pytest.fixture
def scratch(transactional_db):
    """A private copy of the rule-execution table, so that dropping months cannot touch the
    partitions other tests rely on."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE wh_scratch (LIKE rules_ruleexecution_plegacy INCLUDING DEFAULTS"
            " INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )
        cursor.execute("ALTER TABLE wh_scratch DROP CONSTRAINT wh_scratch_pkey")
        cursor.execute("ALTER TABLE wh_scratch ADD CONSTRAINT wh_scratch_pkey PRIMARY KEY (id)")
        cursor.execute(
            "ALTER TABLE wh_scratch ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY"
        )
    yield "wh_scratch"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS wh_scratch CASCADE")
        cursor.execute("DROP TABLE IF EXISTS wh_scratch_plegacy CASCADE")


def insert(table: str, *moments: dt.datetime) -> None:
    with connection.cursor() as cursor:
        for moment in moments:
            cursor.execute(
                f"INSERT INTO {table} (rule_id, rule_version, environment, submission_id,"  # noqa: S608
                " item_id, item_type_id, outcome, over_limit, result, duration_us, created_at)"
                " VALUES ('r', 1, 'LIVE', 1, 'i', 'post', 'PASSED', false, '{}', 1, %s)",
                [moment],
            )


def count(relation: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ONLY {relation}")  # noqa: S608
        return cursor.fetchone()[0]


def test_partitions_are_made_ahead_and_retention_drops_whole_months(scratch):
    start = dt.datetime(2026, 1, 15, tzinfo=UTC)
    insert(scratch, dt.datetime(2025, 6, 1, tzinfo=UTC), dt.datetime(2026, 1, 10, tzinfo=UTC))
    boundary = partitions.prepare(scratch, start)
    assert boundary == dt.datetime(2026, 3, 1, tzinfo=UTC)
    partitions.swap(scratch, boundary, start)
    assert names(scratch) == {
        "wh_scratch_plegacy",
        "wh_scratch_pdefault",
        "wh_scratch_p202603",
        "wh_scratch_p202604",
    }
    # Rows beyond every partition wait in the default one; the next run moves them into the
    # month it creates.
    insert(scratch, dt.datetime(2026, 7, 4, tzinfo=UTC))
    assert count("wh_scratch_pdefault") == 1
    created = partitions.ensure_partitions(scratch, dt.datetime(2026, 5, 2, tzinfo=UTC))
    assert created == [
        "wh_scratch_p202605",
        "wh_scratch_p202606",
        "wh_scratch_p202607",
        "wh_scratch_p202608",
    ]
    assert count("wh_scratch_pdefault") == 0
    assert count("wh_scratch_p202607") == 1
    assert partitions.ensure_partitions(scratch, dt.datetime(2026, 5, 3, tzinfo=UTC)) == []

    # 60 days' retention on 2026-05-02: everything before 2026-03-03 may go; only whole
    # partitions before the cutoff are dropped (the old table's, ending 2026-03-01).
    insert(scratch, dt.datetime(2026, 3, 20, tzinfo=UTC))
    dropped, deleted = partitions.drop_expired(scratch, dt.datetime(2026, 3, 3, tzinfo=UTC))
    assert dropped == ["wh_scratch_plegacy"]
    assert deleted == 0
    assert count("wh_scratch_p202603") == 1
    # An old row arriving late lands in the default partition and is deleted on the next run.
    insert(scratch, dt.datetime(2025, 1, 1, tzinfo=UTC))
    assert count("wh_scratch_pdefault") == 1
    dropped, deleted = partitions.drop_expired(scratch, dt.datetime(2026, 4, 3, tzinfo=UTC))
    assert dropped == ["wh_scratch_p202603"]
    assert deleted == 1
    with pytest.raises(RuntimeError, match="dropped by retention"):
        partitions.revert(scratch)


def counted_inserts() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(n), 0) FROM wh_scratch_counts")
        return cursor.fetchone()[0]


def test_statement_triggers_follow_the_table(scratch):
    """The rollup and outbox triggers fire on the parent after the swap, and on the plain
    table again after the revert."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE wh_scratch_counts (n bigint)")
        cursor.execute(
            "CREATE FUNCTION wh_scratch_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " INSERT INTO wh_scratch_counts SELECT count(*) FROM new_rows; RETURN NULL; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER wh_scratch_count AFTER INSERT ON wh_scratch REFERENCING NEW TABLE"
            " AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wh_scratch_count()"
        )
    try:
        now = dt.datetime(2026, 1, 15, tzinfo=UTC)
        insert(scratch, now)
        partitions.swap(scratch, partitions.prepare(scratch, now), now)
        insert(scratch, now, dt.datetime(2026, 3, 2, tzinfo=UTC))
        assert counted_inserts() == 3
        partitions.revert(scratch)
        insert(scratch, now)
        assert counted_inserts() == 4
        assert count(scratch) == 4
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE wh_scratch_counts")
            cursor.execute("DROP FUNCTION wh_scratch_count() CASCADE")


def test_a_failed_first_step_can_be_run_again(scratch):
    insert(scratch, dt.datetime(2031, 5, 6, tzinfo=UTC))  # a row dated far ahead
    partitions.prepare(scratch, dt.datetime(2029, 12, 1, tzinfo=UTC))
    # Run again: the index and the check are made again; the boundary is past that row.
    boundary = partitions.prepare(scratch, dt.datetime(2029, 12, 1, tzinfo=UTC))
    assert boundary == dt.datetime(2031, 6, 1, tzinfo=UTC)
    partitions.swap(scratch, boundary, dt.datetime(2029, 12, 1, tzinfo=UTC))
    partitions.swap(scratch, boundary, dt.datetime(2029, 12, 1, tzinfo=UTC))  # a no-op
    partitions.revert(scratch)
    assert relkind(scratch) == "r"


@pytest.mark.django_db
def test_the_hourly_task_keeps_months_ahead(settings):
    settings.COOP_EVENT_RETENTION_DAYS = 0
    maintain_event_partitions(timestamp=0)
    ahead = partitions.add_months(partitions.month_start(timezone.now()), partitions.AHEAD_MONTHS)
    for table in partitions.TABLES:
        with connection.cursor() as cursor:
            found = partitions.partitions(cursor, table)
        assert any(p.start is not None and p.start <= ahead < p.end for p in found) or any(
            p.start is None and p.end is not None and ahead < p.end for p in found
        )


def test_the_worker_runs_the_warehouse_tasks():
    from procrastinate.contrib.django import app

    crons = {task.periodic_id: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert crons["maintain-event-partitions"] == "7 * * * *"  # hourly
    assert crons["ship-to-clickhouse"] == "* * * * *"  # every housekeeping run
