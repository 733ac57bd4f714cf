import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """Rule stars, and the index of the rule page's passing samples. The index is built
    concurrently (no lock on the execution log while it is built), hence not atomic."""

    atomic = False

    dependencies = [
        ("rules", "0002_rule_executions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RuleStar",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stars",
                        to="rules.rule",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "rule"), name="one_star_per_user_and_rule"
                    )
                ],
            },
        ),
        AddIndexConcurrently(
            model_name="ruleexecution",
            index=models.Index(
                condition=models.Q(("outcome", "PASSED")),
                fields=["rule_id", "-created_at"],
                name="rule_exec_passed",
            ),
        ),
    ]
