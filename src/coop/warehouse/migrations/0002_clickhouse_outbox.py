"""The ClickHouse outbox, its on/off flag and the statement triggers that fill it."""

import django.db.models.functions.datetime
from django.db import migrations, models

from coop.warehouse import sink


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0001_partition_by_time"),
        ("enforcement", "0001_initial"),
        ("review", "0006_priority_counts_reports"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutboxEntry",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("source", models.CharField(max_length=24)),
                ("event_id", models.CharField(max_length=64)),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
            options={
                "verbose_name_plural": "outbox entries",
            },
        ),
        migrations.CreateModel(
            name="SinkState",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("enabled", models.BooleanField(default=False)),
                ("changed_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.RunSQL(sink.trigger_sql(), sink.drop_trigger_sql()),
    ]
