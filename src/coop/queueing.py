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
