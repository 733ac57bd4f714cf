"""The item index of rule executions gains `created_at` (investigation reads one item's
executions newest first). Built and dropped CONCURRENTLY: no long lock on a big table."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("rules", "0003_rule_stars_and_passing_samples"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="ruleexecution",
            index=models.Index(
                fields=["item_type_id", "item_id", "-created_at"], name="rule_exec_item_time"
            ),
        ),
        RemoveIndexConcurrently(model_name="ruleexecution", name="rule_exec_item"),
    ]
