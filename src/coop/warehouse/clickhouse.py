"""The ClickHouse side of the mirror: the client (clickhouse-connect) and the tables.

`CLICKHOUSE_URL` is any DSN clickhouse-connect takes: `http(s)://user:password@host:8123/db`
for a server, or `chdb:///path` for its in-process chDB engine (the tests: the same client
and the same SQL against a real ClickHouse engine).

Every table is a ReplacingMergeTree keyed by the event id, partitioned by UTC day; the shipper
may send a row twice (it commits in PostgreSQL after ClickHouse acknowledged), and reads use
FINAL, so a row counts once. Sort keys lead with the dimension the dashboards group by, then
time, then the id.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from django.conf import settings

# Over HTTP: no session, so the web's threads may query at once (a session allows one query
# at a time); a hung server holds a shipping run or a page for a minute at most.
HTTP_OPTIONS = {"autogenerate_session_id": False, "connect_timeout": 5, "send_receive_timeout": 60}
_clients: dict[str, Client] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, ClickHouse type), in insert order
    order_by: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def ddl(self) -> str:
        columns = ", ".join(f"{name} {kind}" for name, kind in self.columns)
        return (
            f"CREATE TABLE IF NOT EXISTS {self.name} ({columns}) "
            f"ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(created_at) "
            f"ORDER BY ({', '.join(self.order_by)})"
        )


TIME = "DateTime64(6, 'UTC')"
ID = "String"
LOW = "LowCardinality(String)"
IDS = "Array(String)"

TABLES = {
    table.name: table
    for table in (
        Table(
            "rule_executions",
            (
                ("id", "UInt64"),
                ("rule_id", ID),
                ("rule_version", "UInt32"),
                ("environment", LOW),
                ("submission_id", "Int64"),
                ("item_id", ID),
                ("item_type_id", LOW),
                ("outcome", LOW),
                ("over_limit", "Bool"),
                ("duration_us", "UInt32"),
                ("created_at", TIME),
            ),
            ("rule_id", "created_at", "id"),
        ),
        Table(
            "action_executions",
            (
                ("id", "UUID"),
                ("action_id", ID),
                ("item_id", ID),
                ("item_type_id", LOW),
                ("submission_id", "Nullable(Int64)"),
                ("source", LOW),
                ("actor_id", "Nullable(Int64)"),
                ("policy_ids", IDS),
                ("rule_ids", IDS),
                ("refused", "Bool"),
                ("created_at", TIME),
            ),
            ("source", "action_id", "created_at", "id"),
        ),
        Table(
            "routing_decisions",
            (
                ("id", "UInt64"),
                ("kind", LOW),
                ("job_id", "UUID"),
                ("item_id", ID),
                ("item_type_id", LOW),
                ("source", LOW),
                ("routing_rule_id", ID),
                ("routing_rule_version", "Nullable(UInt32)"),
                ("queue_id", ID),
                ("created_at", TIME),
            ),
            ("queue_id", "created_at", "id"),
        ),
        Table(
            "decisions",
            (
                ("id", "UUID"),
                ("job_id", "Nullable(UUID)"),
                ("job_created_at", f"Nullable({TIME})"),
                ("queue_id", ID),
                ("job_kind", LOW),
                ("item_id", ID),
                ("item_type_id", LOW),
                ("reviewer_id", "Nullable(Int64)"),
                ("source", LOW),
                ("types", IDS),
                ("action_ids", IDS),
                ("policy_ids", IDS),
                ("created_at", TIME),
            ),
            ("queue_id", "created_at", "id"),
        ),
        Table(
            "jobs",
            (
                ("id", "UUID"),
                ("queue_id", ID),
                ("kind", LOW),
                ("item_id", ID),
                ("item_type_id", LOW),
                ("source", LOW),
                ("policy_ids", IDS),
                ("created_at", TIME),
            ),
            ("queue_id", "created_at", "id"),
        ),
        Table(
            "skips",
            (
                ("id", "UInt64"),
                ("job_id", "UUID"),
                ("user_id", "Nullable(Int64)"),
                ("queue_id", ID),
                ("created_at", TIME),
            ),
            ("queue_id", "created_at", "id"),
        ),
        Table(
            "reports",
            (
                ("id", "UUID"),
                ("job_id", "UUID"),
                ("reporter_kind", LOW),
                ("reporter_type_id", LOW),
                ("reporter_id", ID),
                ("reported_at", TIME),
                ("policy_id", ID),
                ("csam", "Bool"),
                ("item_id", ID),
                ("item_type_id", LOW),
                ("created_at", TIME),
            ),
            ("item_type_id", "created_at", "id"),
        ),
        Table(
            "appeals",
            (
                ("id", "UUID"),
                ("appeal_id", ID),
                ("job_id", "UUID"),
                ("appealed_by_type_id", LOW),
                ("appealed_by_id", ID),
                ("appealed_at", TIME),
                ("item_id", ID),
                ("item_type_id", LOW),
                ("actions_taken", IDS),
                ("violating_policies", IDS),
                ("created_at", TIME),
            ),
            ("item_type_id", "created_at", "id"),
        ),
    )
}


def client(url: str | None = None) -> Client:
    """One client per URL and process (chDB allows one engine per process and path), with
    the tables created on first use."""
    url = url or settings.CLICKHOUSE_URL
    with _lock:
        found = _clients.get(url)
        if found is None:
            found = clickhouse_connect.get_client(
                dsn=url,
                settings={"do_not_merge_across_partitions_select_final": 1},
                **({} if url.startswith("chdb:") else HTTP_OPTIONS),
            )
            for table in TABLES.values():
                found.command(table.ddl())
            _clients[url] = found
        return found
