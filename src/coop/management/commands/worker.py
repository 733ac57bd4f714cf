from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand
from procrastinate.contrib.django import app

# On SIGTERM or Ctrl-C the worker takes no new task and lets the running ones finish for up to
# this many seconds; then procrastinate cancels the async ones, but a sync task (a thread)
# cannot be cancelled and is still waited for: what bounds those is the caller's kill (serve's
# STOP_TIMEOUT_SECONDS, systemd's or Kubernetes' stop timeout). A task cut short by a kill is
# retried once the dead worker's heartbeat is stale (coop.tasks.retry_stalled_jobs).
GRACE_SECONDS = 30


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
            app.run_worker(
                concurrency=concurrency,
                install_signal_handlers=True,
                shutdown_graceful_timeout=GRACE_SECONDS,
                # Workers silent for longer are dead: their rows go at start-up and their
                # tasks are retried (coop.tasks.retry_stalled_jobs).
                update_heartbeat_interval=settings.COOP_WORKER_HEARTBEAT_SECONDS,
                stalled_worker_timeout=settings.COOP_STALLED_WORKER_SECONDS,
            )
