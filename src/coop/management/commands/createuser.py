from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coop.accounts.services import AccountError, create_user


def read_password(stdin) -> str:
    password = stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("--password-stdin was given but no password was read.")
    return password


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = "Create a console user with a role; prints a generated password if none is given."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, help="A role name, e.g. 'Moderator'.")
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from stdin."
        )

    def handle(self, *args, email: str, role: str, password_stdin: bool, **options) -> None:
        create(self, email, role, password_stdin, options.get("stdin") or sys.stdin)


def create(command: BaseCommand, email: str, role: str, password_stdin: bool, stdin) -> None:
    """Shared by createuser and createadmin."""
    password = read_password(stdin) if password_stdin else None
    try:
        user, generated = create_user(email, role, password)
    except AccountError as exc:
        raise CommandError(str(exc)) from exc
    command.stderr.write(f"Created {user.email} ({user.role.name}).")
    if password is None:
        command.stdout.write(generated)
