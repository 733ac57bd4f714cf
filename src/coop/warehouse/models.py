"""The ClickHouse outbox: which events still have to be copied to ClickHouse."""

from __future__ import annotations

from django.db import models


class SinkState(models.Model):
    """One row: whether the outbox triggers record events (COOP_WAREHOUSE=clickhouse).

    The triggers read this flag, not the environment, so every process writing events agrees;
    the worker's shipping task sets it from COOP_WAREHOUSE."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    enabled = models.BooleanField(default=False)
    changed_at = models.DateTimeField(null=True, blank=True)


class OutboxEntry(models.Model):
    """An event committed in PostgreSQL and not yet in ClickHouse. Written by a statement
    trigger in the event's own transaction; deleted once ClickHouse has the rows."""

    id = models.BigAutoField(primary_key=True)
    source = models.CharField(max_length=24)  # a key of coop.warehouse.sink.SOURCES
    event_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        verbose_name_plural = "outbox entries"
