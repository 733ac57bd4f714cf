"""Enqueueing background tasks inside the caller's database transaction, from any process.

Inside `coop worker` procrastinate's app talks to PostgreSQL through its own connection pool
(it needs LISTEN/NOTIFY), so a plain `task.defer()` in a task would commit at once, outside
the task's transaction: the new job could run before the rows it needs are committed, or
survive a rollback. Deferring through Django's connection keeps a job and the data it
works on in one transaction, in the web process and in the worker alike.
"""

from __future__ import annotations

from typing import Any

from procrastinate import jobs, manager
from procrastinate.contrib.django.django_connector import DjangoConnector

_job_manager = manager.JobManager(DjangoConnector())


def in_transaction(task: Any, **options: Any) -> jobs.JobDeferrer:
    """`task.configure(**options)`, deferring through Django's current transaction."""
    return jobs.JobDeferrer(_job_manager, task.configure(**options).job)


def defer_expression(task: Any, args_sql: str) -> tuple[str, list[Any]]:
    """An SQL expression that defers one job of `task` with the jsonb `args_sql`, and its
    parameters, so one statement can write rows and enqueue the job that works on them:
    atomic without a transaction, and one round trip instead of four (BEGIN, write, defer,
    COMMIT) on the busiest path. It calls the function procrastinate's own `defer_jobs`
    query calls (procrastinate_defer_jobs_v1, schema of procrastinate 3)."""
    job = task.configure().job
    if job.lock is not None or job.queueing_lock is not None:
        raise ValueError("defer_expression does not handle locks; use in_transaction")
    expression = (
        "procrastinate_defer_jobs_v1(ARRAY[ROW(%s, %s, %s, NULL, NULL, "
        f"{args_sql}, NULL)::procrastinate_job_to_defer_v1])"
    )
    return expression, [job.queue, job.task_name, job.priority]
