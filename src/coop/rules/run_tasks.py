"""The background task of backtests and retroactions (coop.rules.runs): one job per step.

Each step defers the next in its own transaction, so the queue holds exactly the next step of
every unfinished run; a step's job cut short by a dead worker is retried by
coop.tasks.retry_stalled_jobs and redoes that step only. Run jobs have a lower priority than
live evaluation, so a long backtest never delays the evaluation of new submissions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from coop.accounts.models import User
from coop.queueing import in_transaction
from coop.rules.models import Rule, RuleRun
from coop.rules.runs import create_run, work_step

RUN_PRIORITY = -10


@app.task(
    name="coop.work_rule_run",
    queue="evaluate",
    priority=RUN_PRIORITY,
    retry=RetryStrategy(max_attempts=20, exponential_wait=2),
)
def work_rule_run(run_id: int, step: int) -> None:
    """Do one step of a backtest or retroaction."""
    work_step(run_id, step, then=_defer_step)


def _defer_step(run_id: int, step: int) -> None:
    in_transaction(work_rule_run).defer(run_id=run_id, step=step)


def start_run(
    kind: str,
    rule: Rule,
    *,
    start: datetime,
    end: datetime,
    size: int,
    user: User | None,
    definition: dict[str, Any] | None = None,
) -> RuleRun:
    """Create a run and its first step's job together (runs.RunRefused if it cannot run)."""
    with transaction.atomic():
        run = create_run(
            kind, rule, start=start, end=end, size=size, user=user, definition=definition
        )
        _defer_step(run.pk, 0)
    return run
