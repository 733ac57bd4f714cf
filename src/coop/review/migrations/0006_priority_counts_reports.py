"""PRIORITY queues order by priority = signal score + report count: existing jobs (all at
priority 0 until now) get their report count added. Reversible exactly."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("review", "0005_decision_source")]

    operations = [
        migrations.RunSQL(
            "UPDATE review_job SET priority = priority + report_count WHERE report_count > 0",
            reverse_sql=(
                "UPDATE review_job SET priority = priority - report_count WHERE report_count > 0"
            ),
        )
    ]
