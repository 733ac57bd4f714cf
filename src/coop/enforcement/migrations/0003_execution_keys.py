"""Idempotency keys move to their own table, and the references to action executions lose
their database constraint: both so that warehouse 0003 can partition action executions by
month (a unique index, or the target of a foreign key, there would have to include
`created_at`).

The existing keys are copied in the same transaction that drops the unique index, so no key
is ever unguarded. Reversible: the unique index and the constraints come back.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("enforcement", "0002_bulk_actions"),
    ]

    operations = [
        migrations.CreateModel(
            name="ExecutionKey",
            fields=[
                ("key", models.CharField(max_length=255, primary_key=True, serialize=False)),
                (
                    "execution",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="enforcement.actionexecution",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO enforcement_executionkey (key, execution_id)"
            " SELECT idempotency_key, id FROM enforcement_actionexecution"
            " WHERE idempotency_key IS NOT NULL",
            migrations.RunSQL.noop,  # the table itself goes
        ),
        migrations.AlterField(
            model_name="actionexecution",
            name="idempotency_key",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="execution",
            field=models.OneToOneField(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="delivery",
                to="enforcement.actionexecution",
            ),
        ),
        migrations.AlterField(
            model_name="strikerecord",
            name="execution",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="enforcement.actionexecution",
            ),
        ),
    ]
