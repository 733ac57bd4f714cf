from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

# How long a stop waits for the children (longer than web's and worker's GRACE_SECONDS),
# before it kills them.
STOP_TIMEOUT_SECONDS = 40
FIRST_ADMIN_EMAIL = "admin@example.com"


class Command(BaseCommand):
    help = "Run everything: database (embedded if DATABASE_URL is unset), migrations, web, worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--demo",
            action="store_true",
            help="also apply the demo configuration, create demo users, run a fake platform "
            "that shows Coop's webhooks, and send sample items and reports (docs/demo.md)",
        )
        parser.add_argument(
            "--demo-platform-port",
            type=int,
            default=None,
            help="port of the demo's fake platform (default: --port + 1)",
        )

    def handle(self, *args, host: str, port: int, demo: bool = False, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if demo:
            demo_children = self._demo(host, port, options.get("demo_platform_port"))
        else:
            self._first_admin()
            demo_children = []
        # Children inherit DATABASE_URL: this process owns the embedded server, if any,
        # and stops it when it exits after them.
        coop = [sys.executable, "-m", "coop"]
        children = [
            subprocess.Popen([*coop, "web", "--host", host, "--port", str(port)]),
            subprocess.Popen([*coop, "worker"]),
        ]
        children += [subprocess.Popen(command, env=env) for command, env in demo_children]
        stopping = False

        def request_stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        self.stdout.write(f"Coop is running at http://{host}:{port}/  (Ctrl-C to stop)")

        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
        failed = [child for child in children if child.poll() not in (None, 0)]
        self._stop(children)
        if failed and not stopping:
            self.stderr.write("A Coop process exited unexpectedly; everything was stopped.")
            sys.exit(1)
        self.stdout.write("Coop stopped.")

    def _first_admin(self) -> None:
        """A fresh development install gets an administrator, so the console can be opened."""
        from coop.accounts.models import User
        from coop.accounts.services import create_user

        if User.objects.exists():
            return
        if settings.PRODUCTION:
            self.stdout.write("No users yet: create one with `coop createadmin --email EMAIL`.")
            return
        _, password = create_user(FIRST_ADMIN_EMAIL, "Admin")
        self.stdout.write(
            f"Created the first administrator: {FIRST_ADMIN_EMAIL} / {password}\n"
            "(shown once; change it or create your own with `coop createadmin`)"
        )

    def _demo(
        self, host: str, port: int, platform_port: int | None
    ) -> list[tuple[list[str], dict[str, str]]]:
        """Set up the demo in the database, print the credentials; returns the commands (and
        environments) of the fake platform and the feeder."""
        from coop.demo import feeder, platform
        from coop.demo.setup import set_up

        local = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
        platform_port = platform_port or port + 1
        platform_url = f"http://127.0.0.1:{platform_port}"
        demo = set_up(platform_url)
        width = max(len(c.email) for c in demo.credentials)
        self.stdout.write(
            f"Demo configuration applied ({demo.plan.summary()}).\n"
            "Demo users (passwords are new at every start):"
        )
        for credential in demo.credentials:
            self.stdout.write(
                f"  {credential.email:<{width}}  {credential.password}  ({credential.role})"
            )
        self.stdout.write(f"Demo platform (webhooks received from Coop): {platform_url}/")
        sys.stdout.flush()
        python = [sys.executable, "-m"]
        return [
            (
                [*python, "coop.demo.platform", "--port", str(platform_port)],
                {**os.environ, platform.PEMS_ENV: json.dumps(demo.public_pems)},
            ),
            (
                [*python, "coop.demo.feeder", "--url", f"http://{local}:{port}"],
                {**os.environ, feeder.API_KEY_ENV: demo.api_key},
            ),
        ]

    def _stop(self, children: list[subprocess.Popen]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
