"""Background tasks of rule evaluation (architecture.md, data flow 2)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from coop.enforcement.models import ActionExecution
from coop.ingest.models import ItemSubmission
from coop.rules.engine import Prefetched, PrefetchIncomplete, prefetch_signals, run_rules
from coop.rules.models import Environment


@app.task(
    name="coop.evaluate_submissions",
    queue="evaluate",
    retry=RetryStrategy(max_attempts=20, exponential_wait=2),
)
def evaluate_submissions(submission_ids: list[int]) -> None:
    """Evaluate one request's submissions against the LIVE and BACKGROUND rules."""
    evaluate_now(submission_ids, Environment.LIVE)


# Evaluations under the locks that may find calls missing (then made) before the last one,
# which logs what is still missing as ERRORED.
PREFETCH_ATTEMPTS = 3


def evaluate_now(submission_ids: list[int], environment: str) -> list[ActionExecution]:
    """Run the rules on the submissions not evaluated yet, in one transaction.

    Rows are locked first, so the worker and a synchronous request never both evaluate one
    submission; one already evaluated (a retry after a crash) is skipped. Action executions
    are keyed by submission, rule versions and action, so nothing runs twice either way.
    """
    # Images and remote signals first, outside the transaction: calls must not hold the row
    # locks. Hashes are stored per submission, so a submission evaluated meanwhile by another
    # process loses nothing but the fetch.
    pending = list(ItemSubmission.objects.filter(pk__in=submission_ids, evaluated_at__isnull=True))
    prefetched = prefetch_signals(pending)
    prefetched.strict = True
    for _ in range(PREFETCH_ATTEMPTS - 1):
        try:
            return _evaluate_locked(submission_ids, environment, prefetched)
        except PrefetchIncomplete as incomplete:  # rolled back: make the calls, unlocked
            prefetched.fetch(incomplete.missing)
    prefetched.strict = False
    return _evaluate_locked(submission_ids, environment, prefetched)


def _evaluate_locked(
    submission_ids: list[int], environment: str, prefetched: Prefetched
) -> list[ActionExecution]:
    with transaction.atomic():
        submissions = (
            ItemSubmission.objects.select_for_update()
            .filter(pk__in=submission_ids, evaluated_at__isnull=True)
            .order_by("pk")
        )
        batch = list(submissions)
        executions = run_rules(batch, environment, prefetched=prefetched)
        ItemSubmission.objects.filter(pk__in=[s.pk for s in batch]).update(
            evaluated_at=timezone.now()
        )
    return executions
