"""Range-partition action executions by month, as 0001 did the other event tables.

Possible since enforcement 0003 moved the idempotency keys to their own table and took the
database constraint off the references to executions. Non-atomic like 0001: the unique index
built CONCURRENTLY and the CHECK constraint validated while writes go on, then one short swap.
"""

from django.db import migrations
from django.utils import timezone

from coop.warehouse import partitions

TABLE = "enforcement_actionexecution"


def partition(apps, schema_editor):
    now = timezone.now()
    boundary = partitions.prepare(TABLE, now)
    partitions.swap(TABLE, boundary, now)


def unpartition(apps, schema_editor):
    partitions.revert(TABLE)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("warehouse", "0002_clickhouse_outbox"),
        ("enforcement", "0003_execution_keys"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
