"""`coop serve`'s Django part: migrations, the first administrator or the demo, and the plan
of the processes to run. The supervising process (coop.cli.serve) runs this as a child with
`--prepare FD` and receives the plan as JSON on that file descriptor; called without it (e.g.
`call_command("serve")`) the command also runs the children itself."""

from __future__ import annotations

import argparse
import json
import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from coop.cli import PREPARE, run_children
from coop.demo.setup import CYBERTIP_PASSWORD_ENV

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
        parser.add_argument(PREPARE, type=int, default=None, help=argparse.SUPPRESS)

    def handle(self, *args, host: str, port: int, demo: bool = False, **options):
        if demo and settings.PRODUCTION:
            raise CommandError(
                "--demo is a development setup (fake platform, sample data, calls to 127.0.0.1) "
                "and is refused with COOP_ENV=production"
            )
        call_command("migrate", interactive=False, verbosity=0)
        if demo:
            demo_children = self._demo(host, port, options.get("demo_platform_port"))
        else:
            self._first_admin()
            demo_children = []
        coop = [sys.executable, "-m", "coop"]
        # The demo's platform (webhooks, media) runs on 127.0.0.1, which Coop refuses to call
        # unless told otherwise; the demo is a development setup, so it says so.
        local_calls = {"COOP_FETCH_ALLOW_PRIVATE": "1"} if demo else {}
        if demo:
            local_calls["NCMEC_CYBERTIP_URL"] = self.cybertip_url
            local_calls[CYBERTIP_PASSWORD_ENV] = self.cybertip_password
        plan = {
            # Children inherit DATABASE_URL: the supervising process owns the embedded
            # server, if any, and stops it when it exits after them.
            "children": [
                ([*coop, "web", "--host", host, "--port", str(port)], local_calls),
                ([*coop, "worker"], local_calls),
                *demo_children,
            ],
            "message": f"Coop is running at http://{host}:{port}/  (Ctrl-C to stop)",
        }
        plan_fd = options.get("prepare")
        if plan_fd is None:
            sys.exit(run_children(plan))
        self.stdout.flush()
        with os.fdopen(plan_fd, "w") as plan_file:
            json.dump(plan, plan_file)

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
        additions to the environment) of the fake platform and the feeder."""
        from coop.demo import feeder, platform
        from coop.demo.setup import CYBERTIP_USERNAME, set_up
        from coop.testing import fake_cybertip

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
        cybertip_port = platform_port + 1
        self.cybertip_url = f"http://127.0.0.1:{cybertip_port}/ispws"
        self.cybertip_password = demo.cybertip_password
        self.stdout.write(f"Fake NCMEC CyberTip (reports filed by the demo): {self.cybertip_url}")
        sys.stdout.flush()
        python = [sys.executable, "-m"]
        return [
            (
                [*python, "coop.demo.platform", "--port", str(platform_port)],
                {platform.PEMS_ENV: json.dumps(demo.public_pems)},
            ),
            (
                [*python, "coop.testing.fake_cybertip", "--port", str(cybertip_port)],
                {
                    fake_cybertip.USERNAME_ENV: CYBERTIP_USERNAME,
                    fake_cybertip.PASSWORD_ENV: demo.cybertip_password,
                },
            ),
            (
                [
                    *python,
                    "coop.demo.feeder",
                    "--url",
                    f"http://{local}:{port}",
                    "--media-url",
                    f"{platform_url}/media/",
                ],
                {feeder.API_KEY_ENV: demo.api_key},
            ),
        ]
