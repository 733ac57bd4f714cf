from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from django.conf import settings
from django.core.management.base import BaseCommand
from procrastinate.contrib.django import app

# On SIGTERM or Ctrl-C the worker takes no new task and lets the running ones finish for up to
# this many seconds; then procrastinate cancels the async ones, but a sync task (a thread)
# cannot be cancelled and is still waited for: what bounds those is the caller's kill (serve's
# STOP_TIMEOUT_SECONDS, systemd's or Kubernetes' stop timeout). A task cut short by a kill is
# retried once the dead worker's heartbeat is stale (coop.tasks.retry_stalled_jobs).
GRACE_SECONDS = 30
# procrastinate's worker stops when it loses the database (its listener or heartbeat fails, or
# fetching a job does). The process stays up and starts the worker again, after these many
# seconds (the last one repeated while the database stays away; reset after a good run).
RESTART_DELAYS = (0.5, 1, 2, 5)
GOOD_RUN_SECONDS = 60

log = logging.getLogger("coop.worker")


class Command(BaseCommand):
    help = "Run a background worker (rule evaluation, webhook delivery, periodic tasks)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency",
            type=int,
            default=int(os.environ.get("COOP_WORKER_CONCURRENCY") or 4),
            help="Tasks run at once by this process (default: COOP_WORKER_CONCURRENCY or 4).",
        )

    def handle(self, *args, concurrency: int, **options):
        # The Django connector cannot LISTEN; the worker gets its own psycopg pool.
        with app.replace_connector(app.connector.get_worker_connector()):
            asyncio.run(_run(concurrency))


async def _run(concurrency: int) -> None:
    """Run the worker until SIGTERM or SIGINT, starting it again whenever it stops by itself."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    asked_to_stop = asyncio.create_task(stopping.wait())
    failures = 0
    async with app.open_async():
        while True:
            started = loop.time()
            worker = asyncio.create_task(
                app.run_worker_async(
                    concurrency=concurrency,
                    install_signal_handlers=False,  # ours: they tell a stop from a failure
                    shutdown_graceful_timeout=GRACE_SECONDS,
                    # Workers silent for longer are dead: their rows go at start-up and their
                    # tasks are retried (coop.tasks.retry_stalled_jobs).
                    update_heartbeat_interval=settings.COOP_WORKER_HEARTBEAT_SECONDS,
                    stalled_worker_timeout=settings.COOP_STALLED_WORKER_SECONDS,
                )
            )
            await asyncio.wait({worker, asked_to_stop}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.is_set():
                # Cancelling the worker is procrastinate's graceful stop: no new task, the
                # running ones finish (up to GRACE_SECONDS).
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
                return
            error = worker.exception()
            failures = 1 if loop.time() - started > GOOD_RUN_SECONDS else failures + 1
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS)) - 1]
            log.warning(
                "the worker stopped (%s); starting it again in %ss",
                error or "it lost the database",
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(asked_to_stop), delay)
            if stopping.is_set():
                return
