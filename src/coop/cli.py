"""The `coop` console script: Django's management commands, with Coop's settings.

`coop serve` is the exception: its supervising process stays small by never importing
Django. It starts (or joins) the embedded PostgreSQL, has a child `coop serve --prepare`
(Django) migrate and set things up and hand back the command lines to run, then runs and
watches those children. Being the process registered with the embedded server, it stops the
server when it exits after its children (coop.embedded).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

# Commands that use the schema refuse to run against an outdated one (serve migrates itself).
NEEDS_CURRENT_SCHEMA = frozenset(
    {
        "web",
        "worker",
        "config",
        "apikey",
        "createuser",
        "createadmin",
        "signingkey",
        "banks",
        "warehouse",
    }
)
# How long a stop waits for the children (longer than web's and worker's GRACE_SECONDS),
# before it kills them.
STOP_TIMEOUT_SECONDS = 40
PREPARE = "--prepare"  # serve's hidden option: the fd to write the plan to


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    arguments = sys.argv[2:]
    if command == "serve" and not {PREPARE, "-h", "--help"} & set(arguments):
        sys.exit(serve(arguments))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coop.settings")
    import django
    from django.core.management import execute_from_command_line

    if command in NEEDS_CURRENT_SCHEMA:
        django.setup()
        from coop.db import pending_migrations

        pending = pending_migrations()
        if pending:
            sys.stderr.write(
                f"The database schema is out of date ({len(pending)} migrations pending, "
                f"first {pending[0]}). Run `coop migrate` first.\n"
            )
            sys.exit(2)
    execute_from_command_line(["coop", *sys.argv[1:]])


class _Stop:
    """SIGINT / SIGTERM ask to stop; a child being waited for is told too."""

    def __init__(self) -> None:
        self.requested = False
        self.waiting_for: subprocess.Popen | None = None
        signal.signal(signal.SIGINT, self._request)
        signal.signal(signal.SIGTERM, self._request)

    def _request(self, signum, frame) -> None:
        self.requested = True
        child = self.waiting_for
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)


def serve(arguments: list[str]) -> int:
    """`coop serve`: returns the exit status."""
    from pathlib import Path

    from dotenv import load_dotenv

    stop = _Stop()
    # As coop.settings reads them; the children's settings then find DATABASE_URL set.
    load_dotenv(Path.cwd() / ".env")
    if not os.environ.get("DATABASE_URL"):
        from coop import embedded

        data_dir = Path(os.environ.get("COOP_DATA_DIR", "coop-data")).expanduser().resolve()
        embedded.ensure_database_url(data_dir)
    read_end, write_end = os.pipe()
    prepare = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "coop", "serve", *arguments, PREPARE, str(write_end)],
        pass_fds=[write_end],
    )
    os.close(write_end)
    stop.waiting_for = prepare
    with os.fdopen(read_end, "rb") as plan_file:
        plan = plan_file.read()  # until the child exits (or closes it)
    status = prepare.wait()
    stop.waiting_for = None
    if stop.requested:
        return 0
    if status != 0 or not plan:
        return status if status > 0 else 1
    return run_children(json.loads(plan), stop)


def run_children(plan: dict, stop: _Stop | None = None) -> int:
    """Run the plan's children until one exits or a stop is asked; stop them all."""
    stop = stop or _Stop()
    children = [
        subprocess.Popen(command, env={**os.environ, **env})  # noqa: S603 - our own commands
        for command, env in plan["children"]
    ]
    sys.stdout.write(plan["message"] + "\n")
    sys.stdout.flush()
    while not stop.requested and all(child.poll() is None for child in children):
        time.sleep(0.2)
    failed = [child for child in children if child.poll() not in (None, 0)]
    _stop(children)
    if failed and not stop.requested:
        sys.stderr.write("A Coop process exited unexpectedly; everything was stopped.\n")
        return 1
    sys.stdout.write("Coop stopped.\n")
    return 0


def _stop(children: list[subprocess.Popen]) -> None:
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
