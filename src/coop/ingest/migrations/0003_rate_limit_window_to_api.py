"""RateLimitWindow now belongs to the api app (its migration 0001); the table is kept."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0002_rate_limit_window"),
        ("api", "0001_rate_limit_window"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RateLimitWindow")],
        ),
    ]
