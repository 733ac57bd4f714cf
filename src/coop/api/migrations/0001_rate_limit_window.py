"""RateLimitWindow moves from ingest to api: the table and its rows stay as they are."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0002_rate_limit_window"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RateLimitWindow",
                    fields=[
                        ("api_key_id", models.UUIDField(primary_key=True, serialize=False)),
                        ("window", models.BigIntegerField(help_text="Minutes since the epoch")),
                        ("count", models.PositiveIntegerField()),
                    ],
                    options={"db_table": "ingest_ratelimitwindow"},
                ),
            ],
        ),
    ]
