from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandParser

from coop.management.commands.createuser import create


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = "Create an Admin user (shorthand for `createuser --role Admin`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from stdin."
        )

    def handle(self, *args, email: str, password_stdin: bool, **options) -> None:
        create(self, email, "Admin", password_stdin, options.get("stdin") or sys.stdin)
