"""Background tasks of rule evaluation (architecture.md, data flow 2)."""

from __future__ import annotations

from django.utils import timezone
from procrastinate.contrib.django import app

from coop.ingest.models import ItemSubmission


@app.task(name="coop.evaluate_submissions", queue="evaluate")
def evaluate_submissions(submission_ids: list[int]) -> None:
    """Evaluate one request's submissions against the LIVE and BACKGROUND rules.

    The rules engine is not built yet, so there is no rule to run: the submissions are only
    marked evaluated. Already-evaluated rows are skipped, so a re-run after a crash is harmless.
    """
    ItemSubmission.objects.filter(pk__in=submission_ids, evaluated_at__isnull=True).update(
        evaluated_at=timezone.now()
    )
