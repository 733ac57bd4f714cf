from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coop.accounts.models import ApiKey
from coop.accounts.services import create_api_key, revoke_api_key


def _time(value) -> str:
    return value.isoformat(timespec="seconds") if value else "never"


class Command(BaseCommand):
    help = "Platform API keys: create (prints only the key), list, revoke."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it (shown once).")
        create.add_argument("--name", required=True)
        sub.add_parser("list", help="One key per line: id, name, created, last used, status.")
        revoke = sub.add_parser("revoke", help="Revoke a key by id.")
        revoke.add_argument("id")

    def handle(self, *args, action: str, **options) -> None:
        if action == "create":
            name = options["name"].strip()
            if not name:
                raise CommandError("--name must not be empty.")
            _, key = create_api_key(name)
            self.stdout.write(key)
        elif action == "list":
            for key in ApiKey.objects.order_by("created_at"):
                status = "active" if key.is_active else "revoked"
                name = " ".join(key.name.split())  # a tab or newline would break the columns
                fields = [str(key.id), name, _time(key.created_at), _time(key.last_used_at)]
                self.stdout.write("\t".join([*fields, status]))
        else:
            try:
                api_key = revoke_api_key(uuid.UUID(options["id"]))
            except (ValueError, ApiKey.DoesNotExist) as exc:
                raise CommandError(f"No API key with id {options['id']!r}.") from exc
            self.stderr.write(f"Revoked {api_key.name} ({api_key.id}).")
