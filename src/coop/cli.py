"""The `coop` console script: Django's management commands, with Coop's settings."""

from __future__ import annotations

import os
import sys

# Commands that use the schema refuse to run against an outdated one (serve migrates itself).
NEEDS_CURRENT_SCHEMA = frozenset(
    {"web", "worker", "config", "apikey", "createuser", "createadmin", "signingkey"}
)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coop.settings")
    import django
    from django.core.management import execute_from_command_line

    command = sys.argv[1] if len(sys.argv) > 1 else "help"
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
