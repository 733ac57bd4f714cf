import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """New tables only: reversible by dropping them, no existing data touched."""

    dependencies = [
        ("ingest", "0003_rate_limit_window_to_api"),
    ]

    operations = [
        migrations.CreateModel(
            name="ImageHash",
            fields=[
                ("sha256", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("pdq", models.CharField(max_length=64)),
                ("quality", models.PositiveSmallIntegerField()),
                ("hashed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.CreateModel(
            name="SubmissionImage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("url", models.TextField()),
                ("fetched_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "image",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="submissions",
                        to="ingest.imagehash",
                    ),
                ),
                (
                    "submission",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="images",
                        to="ingest.itemsubmission",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("submission", "url"), name="submission_image_url"
                    )
                ],
            },
        ),
    ]
