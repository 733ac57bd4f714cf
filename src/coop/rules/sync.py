"""Synchronous rule evaluation for `POST /api/v1/content/` with `sync: true`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.db import connections

from coop.catalog.models import Action
from coop.rules.models import Environment
from coop.rules.tasks import evaluate_now

# Bounded: a burst of sync requests waits for a thread rather than starting hundreds.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="coop-sync-rules")


class BudgetExceeded(Exception):
    """The rules did not finish within the time budget; the worker finishes the evaluation."""


def evaluate_within(submission_ids: list[int], budget_seconds: float) -> list[dict[str, str]]:
    """The actions the LIVE rules triggered, as `[{"id", "name"}]`, or BudgetExceeded.

    Never a partial answer: the evaluation commits whole or not at all, and a late one is
    still completed (here, or by the worker's task scheduled after the budget).
    """
    future = _pool.submit(_evaluate, submission_ids)
    try:
        return future.result(timeout=budget_seconds)
    except FutureTimeout:
        raise BudgetExceeded from None


def _evaluate(submission_ids: list[int]) -> list[dict[str, str]]:
    try:
        executions = evaluate_now(submission_ids, Environment.SYNC)
        ids = list(dict.fromkeys(e.action_id for e in executions))
        names = dict(Action.objects.filter(id__in=ids).values_list("id", "name"))
        return [{"id": action_id, "name": names.get(action_id, action_id)} for action_id in ids]
    finally:
        connections.close_all()  # this thread's own connection
