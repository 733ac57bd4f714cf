"""The mirror of the event stream to ClickHouse (COOP_WAREHOUSE=clickhouse).

Capture: a statement trigger on each event table writes one outbox row per inserted event in
the event's own transaction (triggers, because events are written by several lower layers and
paths: the engine's COPY, bulk_create, single saves). An event that committed is in the outbox;
one that rolled back is not. The triggers record only while `SinkState.enabled` is set.

Shipping: the worker takes the oldest outbox rows (FOR UPDATE SKIP LOCKED: workers share the
work), reads their events, inserts them into ClickHouse and deletes the rows, committing in
PostgreSQL only after ClickHouse acknowledged. ClickHouse down: the transaction rolls back and
everything stays for the next run. A crash after ClickHouse took the rows sends them again;
the ReplacingMergeTree tables keep one row per event id (reads use FINAL).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from coop.warehouse import clickhouse
from coop.warehouse.models import OutboxEntry, SinkState

log = logging.getLogger(__name__)

BATCH = 5000  # outbox rows per transaction
SHIP_BUDGET_SECONDS = 45  # one run stops taking new batches after this (runs every minute)

_RULE_IDS = (
    "ARRAY(SELECT r ->> 'id' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.rules) = "
    "'array' THEN t.rules ELSE '[]' END) AS r WHERE r ->> 'id' IS NOT NULL)"
)


@dataclass(frozen=True)
class Source:
    """One event table and how its rows become rows of a ClickHouse table."""

    name: str  # the outbox's `source`, and the ClickHouse table
    table: str
    id_type: str  # PostgreSQL type of `id`
    select: str  # expressions in the order of the ClickHouse table's columns
    joins: str = ""


SOURCES = {
    source.name: source
    for source in (
        Source(
            "rule_executions",
            "rules_ruleexecution",
            "bigint",
            "t.id, t.rule_id, t.rule_version, t.environment, t.submission_id, t.item_id,"
            " t.item_type_id, t.outcome, t.over_limit, t.duration_us, t.created_at",
        ),
        Source(
            "action_executions",
            "enforcement_actionexecution",
            "uuid",
            "t.id, t.action_id, t.item_id, t.item_type_id, t.submission_id, t.source,"
            f" t.actor_id, t.policy_ids::text[], {_RULE_IDS}, t.refused_reason <> '',"
            " t.created_at",
        ),
        Source(
            "routing_decisions",
            "rules_routingdecision",
            "bigint",
            "t.id, t.kind, t.job_id, t.item_id, t.item_type_id, t.source, t.routing_rule_id,"
            " t.routing_rule_version, t.queue_id, t.created_at",
        ),
        Source(
            "decisions",
            "review_decision",
            "uuid",
            "t.id, t.job_id, j.created_at, t.queue_id, t.job_kind, t.item_id, t.item_type_id,"
            " t.reviewer_id, t.source, t.types::text[], t.action_ids::text[],"
            " t.policy_ids::text[], t.created_at",
            "LEFT JOIN review_job j ON j.id = t.job_id",
        ),
        Source(
            "jobs",
            "review_job",
            "uuid",
            "t.id, t.queue_id, t.kind, t.item_id, t.item_type_id, t.source,"
            " t.policy_ids::text[], t.created_at",
        ),
        Source(
            "skips", "review_skip", "bigint", "t.id, t.job_id, t.user_id, t.queue_id, t.created_at"
        ),
        Source(
            "reports",
            "review_report",
            "uuid",
            "t.id, t.job_id, t.reporter_kind, t.reporter_type_id, t.reporter_id, t.reported_at,"
            " t.policy_id, t.csam, t.item_id, t.item_type_id, t.created_at",
        ),
        Source(
            "appeals",
            "review_appeal",
            "uuid",
            "t.id, t.appeal_id, t.job_id, t.appealed_by_type_id, t.appealed_by_id,"
            " t.appealed_at, t.item_id, t.item_type_id, t.actions_taken::text[],"
            " t.violating_policies::text[], t.created_at",
        ),
    )
}


# --- Capture ------------------------------------------------------------------------------


def trigger_sql() -> list[str]:
    """The statements (idempotent) creating the outbox trigger of every event table."""
    statements = []
    for source in SOURCES.values():
        name = f"warehouse_outbox_{source.name}"
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"  # noqa: S608
            "BEGIN\n"
            "  IF EXISTS (SELECT 1 FROM warehouse_sinkstate WHERE enabled) THEN\n"
            "    INSERT INTO warehouse_outboxentry (source, event_id)\n"
            f"    SELECT '{source.name}', id::text FROM new_rows;\n"
            "  END IF;\n"
            "  RETURN NULL;\n"
            "END\n$$;",
            f"DROP TRIGGER IF EXISTS {name} ON {source.table};",
            f"CREATE TRIGGER {name} AFTER INSERT ON {source.table} REFERENCING NEW TABLE AS"
            f" new_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}();",
        ]
    return statements


def drop_trigger_sql() -> list[str]:
    statements = []
    for source in SOURCES.values():
        name = f"warehouse_outbox_{source.name}"
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {source.table};",
            f"DROP FUNCTION IF EXISTS {name}();",
        ]
    return statements


def sync_state() -> bool:
    """Turn capture on or off to match COOP_WAREHOUSE; turning it off empties the outbox (its
    rows would be stale by the time ClickHouse is used again: backfill then)."""
    wanted = settings.COOP_WAREHOUSE == "clickhouse"
    with transaction.atomic():
        state, _ = SinkState.objects.select_for_update().get_or_create(id=1)
        if state.enabled != wanted:
            state.enabled = wanted
            state.changed_at = timezone.now()
            state.save()
            if not wanted:
                OutboxEntry.objects.all().delete()
            log.info("ClickHouse capture %s", "on" if wanted else "off")
    return wanted


# --- Shipping -----------------------------------------------------------------------------


def _rows(source: Source, where: str, params: list, tail: str = "") -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {source.select} FROM {source.table} t {source.joins} WHERE {where} {tail}",  # noqa: S608
            params,
        )
        return cursor.fetchall()


def _insert(source: Source, rows: list[tuple]) -> None:
    if rows:
        table = clickhouse.TABLES[source.name]
        clickhouse.client().insert(table.name, rows, column_names=table.column_names)


def ship_batch(limit: int = BATCH) -> int:
    """Copy up to `limit` outbox rows' events to ClickHouse; returns how many rows were taken
    (0: the outbox is empty). Raises when ClickHouse fails, leaving the outbox as it was."""
    with transaction.atomic():
        entries = list(
            OutboxEntry.objects.select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", "source", "event_id")[:limit]
        )
        if not entries:
            return 0
        ids: dict[str, list[str]] = defaultdict(list)
        for _, name, event_id in entries:
            ids[name].append(event_id)
        for name, event_ids in ids.items():
            source = SOURCES[name]
            # Events gone since (retention) are simply not found.
            rows = _rows(source, f"t.id = ANY(%s::{source.id_type}[])", [event_ids])
            _insert(source, rows)
        OutboxEntry.objects.filter(id__in=[entry_id for entry_id, _, _ in entries]).delete()
    return len(entries)


def ship(budget_seconds: float = SHIP_BUDGET_SECONDS) -> int:
    """Ship batches until the outbox is empty or the budget is spent; returns rows shipped.
    ClickHouse unreachable: logged, nothing lost, the next run tries again."""
    shipped = 0
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        try:
            taken = ship_batch()
        except Exception as error:  # any client or server error: keep the outbox, retry later
            log.warning(
                "ClickHouse unavailable, %d events wait in the outbox: %s", pending(), error
            )
            break
        if not taken:
            break
        shipped += taken
    return shipped


def pending() -> int:
    return OutboxEntry.objects.count()


# --- Backfill -----------------------------------------------------------------------------


def backfill(
    since: dt.datetime, until: dt.datetime | None = None, page: int = BATCH, out=None
) -> dict[str, int]:
    """Copy every event created in [since, until) to ClickHouse, page by page in (created_at,
    id) order; events already there are replaced, not doubled. Returns rows sent per table."""
    until = until or timezone.now() + dt.timedelta(days=1)
    sent: dict[str, int] = {}
    for source in SOURCES.values():
        sent[source.name] = 0
        after: tuple | None = None
        while True:
            if after is None:
                where, params = "t.created_at >= %s AND t.created_at < %s", [since, until]
            else:
                where = "(t.created_at, t.id) > (%s, %s) AND t.created_at < %s"
                params = [after[0], after[1], until]
            rows = _rows(source, where, [*params, page], "ORDER BY t.created_at, t.id LIMIT %s")
            if not rows:
                break
            _insert(source, rows)
            sent[source.name] += len(rows)
            after = (rows[-1][-1], rows[-1][0])
            if out is not None:
                out(f"{source.name}: {sent[source.name]}")
            if len(rows) < page:
                break
    return sent
