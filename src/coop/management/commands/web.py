from __future__ import annotations

import os
import signal
import sys

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

# On SIGTERM or Ctrl-C uvicorn stops accepting connections and lets the requests in flight
# finish for up to this many seconds (then cancels them). `coop serve` waits longer.
GRACE_SECONDS = 20


class Command(BaseCommand):
    help = "Run the web server (console and platform API)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("COOP_WEB_WORKERS") or 1),
            help="Web server processes (default: COOP_WEB_WORKERS or 1).",
        )

    def handle(self, *args, host: str, port: int, workers: int, **options):
        # Once it has shut down gracefully uvicorn raises the signal that stopped it again,
        # with the handler it found: with the default one the process would die of SIGTERM
        # (or print a KeyboardInterrupt). Stopping when asked is success: exit 0, also when
        # the signal comes before uvicorn has taken over the signals.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _stopped)
        uvicorn.run(
            "coop.asgi:application",
            host=host,
            port=port,
            workers=workers,
            http="coop.web.server:NoDelayHttpProtocol",
            loop="asyncio",
            lifespan="off",
            forwarded_allow_ips=settings.COOP_TRUSTED_PROXIES,
            access_log=False,
            timeout_graceful_shutdown=GRACE_SECONDS,
            log_level="warning",
        )


def _stopped(signum, frame) -> None:
    sys.exit(0)
