"""Monthly range partitions of the raw event tables, by `created_at`.

Partitioned: rule executions, routing decisions, review decisions and action executions.
Their only unique key is the primary key, which becomes `(id, created_at)` (ids still come
from one sequence or are UUIDs, so they stay unique). What would need another unique key or
a foreign key lives elsewhere: the idempotency keys of action executions in ExecutionKey,
and the references from deliveries and strike records carry no database constraint; when
retention drops rows, DEPENDENTS clears what named them.

The conversion never rewrites rows under a long lock: the existing table becomes the partition
for everything before a boundary, proven by a CHECK constraint validated while writes go on,
so ATTACH skips its scan; the unique index it needs is built CONCURRENTLY beforehand.

SQL here is built from table names in TABLES and names read from the catalog, never from input.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import connection, transaction

TABLES = (
    "rules_ruleexecution",
    "rules_routingdecision",
    "review_decision",
    "enforcement_actionexecution",
)
# Statements run before rows of a table go, `{ids}` a query of their ids: the rows elsewhere
# that name them without a foreign key.
DEPENDENTS = {
    "enforcement_actionexecution": (
        "DELETE FROM enforcement_executionkey WHERE execution_id IN ({ids})",
        "UPDATE enforcement_delivery SET execution_id = NULL WHERE execution_id IN ({ids})",
        "UPDATE enforcement_strikerecord SET execution_id = NULL WHERE execution_id IN ({ids})",
    ),
}
KEY = "created_at"
AHEAD_MONTHS = 3  # partitions kept ready beyond the current month
LEGACY = "_plegacy"  # the table as it was before partitioning: every row before the boundary
DEFAULT = "_pdefault"  # rows no monthly partition covers (older than all, or far ahead)
SUFFIX = "_legacy"  # indexes of the old table, renamed so the parent can take their names
_BOUND = re.compile(r"FROM \((.+)\) TO \((.+)\)")


@dataclass(frozen=True)
class Partition:
    name: str
    start: dt.datetime | None  # None: MINVALUE
    end: dt.datetime | None  # None: MAXVALUE
    default: bool = False


def month_start(moment: dt.datetime) -> dt.datetime:
    return dt.datetime(moment.year, moment.month, 1, tzinfo=dt.UTC)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def boundary_for(now: dt.datetime) -> dt.datetime:
    """Where the old table's partition ends: the start of the month after next, so inserts go
    on meeting its CHECK constraint for at least a month between the steps of the migration."""
    return add_months(month_start(now), 2)


def is_partitioned(cursor, table: str) -> bool:
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
    row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def _parse_bound(text: str) -> dt.datetime | None:
    text = text.strip()
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    return dt.datetime.fromisoformat(text.strip("'")).astimezone(dt.UTC)


def partitions(cursor, table: str) -> list[Partition]:
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass"
        " ORDER BY c.relname",
        [table],
    )
    found = []
    for name, bound in cursor.fetchall():
        if bound == "DEFAULT":
            found.append(Partition(name, None, None, default=True))
            continue
        lower, upper = _BOUND.search(bound).groups()
        found.append(Partition(name, _parse_bound(lower), _parse_bound(upper)))
    return found


# --- Conversion (the migration) -------------------------------------------------------------


def prepare(table: str, now: dt.datetime) -> dt.datetime:
    """Step 1, outside any transaction, writes going on: the unique index on (id, created_at)
    built CONCURRENTLY, and the CHECK constraint that lets ATTACH skip its scan, validated
    under SHARE UPDATE EXCLUSIVE (which blocks no insert). Returns the boundary: the month
    after next, or later when rows are dated beyond it."""
    with connection.cursor() as cursor:
        if is_partitioned(cursor, table):
            return boundary_for(now)
        cursor.execute(f'SELECT max({KEY}) FROM "{table}"')  # noqa: S608
        latest = cursor.fetchone()[0]
        boundary = boundary_for(now)
        if latest is not None and latest >= boundary:
            boundary = add_months(month_start(latest.astimezone(dt.UTC)), 1)
        cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{table}_part_key"')  # a failed run
        cursor.execute(
            f'CREATE UNIQUE INDEX CONCURRENTLY "{table}_part_key" ON "{table}" (id, {KEY})'
        )
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{table}_before"')
        cursor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_before" CHECK ({KEY} < %s) NOT VALID',
            [boundary],
        )
        cursor.execute(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{table}_before"')
    return boundary


def swap(table: str, boundary: dt.datetime, now: dt.datetime) -> None:
    """Step 2, one short transaction: the old table renamed and attached, unscanned, as the
    partition of everything before `boundary` under a new partitioned parent with the same
    name, columns, defaults, checks, indexes, foreign keys and id sequence."""
    legacy = table + LEGACY
    with transaction.atomic(), connection.cursor() as cursor:
        if is_partitioned(cursor, table):
            return
        cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        indexes = _indexes(cursor, table)
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        foreign_keys = cursor.fetchall()
        triggers = _triggers(cursor, table)
        sequence, last = _sequence(cursor, table)

        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{legacy}"')
        for name, _ in triggers:
            cursor.execute(f'DROP TRIGGER "{name}" ON "{legacy}"')
        for name, _ in indexes:
            cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{name}{SUFFIX}"')
        cursor.execute(f'ALTER TABLE "{legacy}" DROP CONSTRAINT "{table}_pkey"')
        cursor.execute(
            f'ALTER TABLE "{legacy}" ADD CONSTRAINT "{legacy}_pkey"'
            f' PRIMARY KEY USING INDEX "{table}_part_key"'
        )
        if sequence:
            cursor.execute(f'ALTER TABLE "{legacy}" ALTER COLUMN id DROP IDENTITY')

        cursor.execute(
            f'CREATE TABLE "{table}" (LIKE "{legacy}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'
            f" PARTITION BY RANGE ({KEY})"
        )
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{table}_before"')
        if sequence:
            # A sequence owned by the column rather than an identity: partitioned tables take
            # identity columns only from PostgreSQL 17.
            cursor.execute(f'CREATE SEQUENCE "{table}_id_seq" OWNED BY "{table}".id')
            cursor.execute(f"SELECT setval('\"{table}_id_seq\"', %s, %s)", last)
            cursor.execute(
                f'ALTER TABLE "{table}" ALTER COLUMN id'
                f" SET DEFAULT nextval('\"{table}_id_seq\"'::regclass)"
            )
        cursor.execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY (id, {KEY})')
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        for _, definition in triggers:  # statement triggers on a partition would stop firing
            cursor.execute(definition)
        cursor.execute(
            f'ALTER TABLE "{table}" ATTACH PARTITION "{legacy}" FOR VALUES FROM (MINVALUE) TO (%s)',
            [boundary],
        )
        cursor.execute(f'ALTER TABLE "{legacy}" DROP CONSTRAINT "{table}_before"')
        cursor.execute(f'CREATE TABLE "{table}{DEFAULT}" PARTITION OF "{table}" DEFAULT')
    ensure_partitions(table, now)


def revert(table: str) -> None:
    """Back to one plain table: the old table detached, the rows written since copied into it
    (only those), the parent dropped. Rebuilding the primary key on `id` locks the table while
    it builds: acceptable for a rollback, which is not the everyday path."""
    legacy = table + LEGACY
    with transaction.atomic(), connection.cursor() as cursor:
        if not is_partitioned(cursor, table):
            return
        if not any(p.name == legacy for p in partitions(cursor, table)):
            raise RuntimeError(
                f"{legacy} was dropped by retention: reverting would copy every row into a new"
                " table; do it by hand if it is really wanted"
            )
        cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        sequence, last = _sequence(cursor, table)
        triggers = _triggers(cursor, table)
        cursor.execute(f'ALTER TABLE "{table}" DETACH PARTITION "{legacy}"')
        cursor.execute(f'INSERT INTO "{legacy}" SELECT * FROM "{table}"')  # noqa: S608
        # Checks of deferred foreign keys (Django's) now: pending ones forbid the ALTERs below.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'DROP TABLE "{table}" CASCADE')
        cursor.execute(f'ALTER TABLE "{legacy}" RENAME TO "{table}"')
        for _, definition in triggers:
            cursor.execute(definition)
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = %s::regclass AND c.relname LIKE %s",
            [table, f"%{SUFFIX}"],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{name[: -len(SUFFIX)]}"')
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{legacy}_pkey"')
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id)')
        if sequence:
            cursor.execute(
                "SELECT attidentity FROM pg_attribute WHERE attrelid = %s::regclass"
                " AND attname = 'id'",
                [table],
            )
            if not cursor.fetchone()[0]:
                cursor.execute(
                    f'ALTER TABLE "{table}" ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY'
                )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)", [table, *last]
            )


def _indexes(cursor, table: str) -> list[tuple[str, str]]:
    """The table's indexes but its primary key and our (id, created_at) one, with the
    statement creating each; a unique one cannot exist without the partition key."""
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisprimary, i.indisunique"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = %s::regclass",
        [table],
    )
    indexes = []
    for name, definition, primary, unique in cursor.fetchall():
        if primary or name == f"{table}_part_key":
            continue
        if unique:
            raise RuntimeError(f"{table}: unique index {name} cannot survive partitioning")
        indexes.append((name, definition))
    return indexes


def _sequence(cursor, table: str) -> tuple[str | None, tuple | None]:
    """The identity sequence of `id` and its state (None for UUID keys)."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    if not sequence:
        return None, None
    cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
    return sequence, cursor.fetchone()


def _triggers(cursor, table: str) -> list[tuple[str, str]]:
    """The table's own triggers (those feeding the rollups and the ClickHouse outbox), with
    the statement that creates each; clones on partitions and internal ones left out."""
    cursor.execute(
        "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass"
        " AND NOT tgisinternal AND tgparentid = 0 ORDER BY tgname",
        [table],
    )
    return cursor.fetchall()


# --- Maintenance (the periodic task) -------------------------------------------------------


def ensure_partitions(table: str, now: dt.datetime) -> list[str]:
    """Create the monthly partitions from this month to AHEAD_MONTHS ahead that are missing.

    Each is created as a plain table, filled with the rows of its month that had landed in the
    default partition, and attached, in one transaction: the default partition never holds a
    row a new partition should have (ATTACH would refuse).
    """
    created = []
    with connection.cursor() as cursor:
        existing = [p for p in partitions(cursor, table) if not p.default]
        for offset in range(AHEAD_MONTHS + 1):
            start = add_months(month_start(now), offset)
            end = add_months(start, 1)
            if any(_overlaps(p, start, end) for p in existing):
                continue
            name = f"{table}_p{start:%Y%m}"
            with transaction.atomic():
                cursor.execute(
                    f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS'
                    " INCLUDING CONSTRAINTS)"
                )
                cursor.execute(f'LOCK TABLE "{table}{DEFAULT}" IN ACCESS EXCLUSIVE MODE')
                cursor.execute(
                    f'WITH moved AS (DELETE FROM "{table}{DEFAULT}"'  # noqa: S608
                    f" WHERE {KEY} >= %s AND {KEY} < %s RETURNING *)"
                    f' INSERT INTO "{name}" SELECT * FROM moved',
                    [start, end],
                )
                cursor.execute(
                    f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)',
                    [start, end],
                )
            created.append(name)
    return created


def _overlaps(partition: Partition, start: dt.datetime, end: dt.datetime) -> bool:
    lower_ok = partition.start is None or partition.start < end
    upper_ok = partition.end is None or partition.end > start
    return lower_ok and upper_ok


def drop_expired(table: str, cutoff: dt.datetime) -> tuple[list[str], int]:
    """Drop the partitions wholly before `cutoff` and delete the default partition's rows
    before it; returns the dropped partitions and the rows deleted."""
    dropped = []
    dependents = DEPENDENTS.get(table, ())
    with transaction.atomic(), connection.cursor() as cursor:
        for partition in partitions(cursor, table):
            if not partition.default and partition.end is not None and partition.end <= cutoff:
                for statement in dependents:
                    cursor.execute(statement.format(ids=f'SELECT id FROM "{partition.name}"'))  # noqa: S608
                cursor.execute(f'DROP TABLE "{partition.name}"')
                dropped.append(partition.name)
        expired = f'SELECT id FROM "{table}{DEFAULT}" WHERE {KEY} < %s'  # noqa: S608
        for statement in dependents:
            cursor.execute(statement.format(ids=expired), [cutoff])
        cursor.execute(f'DELETE FROM "{table}{DEFAULT}" WHERE {KEY} < %s', [cutoff])  # noqa: S608
        deleted = cursor.rowcount
    return dropped, deleted


@dataclass(frozen=True)
class MaintenanceReport:
    created: list[str]
    dropped: list[str]
    deleted_rows: int


def maintain(now: dt.datetime, retention_days: int) -> MaintenanceReport:
    """Partitions ahead for every partitioned event table; with a retention (days > 0), the
    months past it dropped. Tables not (yet) partitioned are left alone."""
    created: list[str] = []
    dropped: list[str] = []
    deleted = 0
    for table in TABLES:
        with connection.cursor() as cursor:
            if not is_partitioned(cursor, table):
                continue
        created += ensure_partitions(table, now)
        if retention_days > 0:
            names, rows = drop_expired(table, now - dt.timedelta(days=retention_days))
            dropped += names
            deleted += rows
    return MaintenanceReport(created, dropped, deleted)
