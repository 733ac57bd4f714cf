"""Range-partition the raw event tables by month (coop.warehouse.partitions).

Non-atomic: the unique index is built CONCURRENTLY and the CHECK constraint validated while
writes go on; only the swap itself is one short transaction per table. Reversible: the rows
written since are copied back into the old table.

It lives in the warehouse app rather than in rules/review because the conversion code is the
warehouse's and migrations of lower layers may not import it (docs/architecture.md).
"""

from django.db import migrations
from django.utils import timezone

from coop.warehouse import partitions

# Named here rather than taken from partitions.TABLES, which has grown since (0003).
TABLES = ("rules_ruleexecution", "rules_routingdecision", "review_decision")


def partition(apps, schema_editor):
    now = timezone.now()
    for table in TABLES:
        boundary = partitions.prepare(table, now)
        partitions.swap(table, boundary, now)


def unpartition(apps, schema_editor):
    for table in TABLES:
        partitions.revert(table)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        # Indexes on rule executions are built CONCURRENTLY, which PostgreSQL refuses on a
        # partitioned table: they come first, and the swap keeps them. The insights triggers
        # come first too: the swap moves them to the partitioned tables.
        ("rules", "0004_rule_exec_item_time"),
        ("review", "0006_priority_counts_reports"),
        ("insights", "0001_rollups"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
