from __future__ import annotations

import os

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand


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
            timeout_graceful_shutdown=20,
            log_level="warning",
        )
