from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coop.catalog.models import Bank
from coop.config.banks import import_file
from coop.config.engine import SOURCE_FILE


class Command(BaseCommand):
    help = "HASH banks: import hashes from a file (one per line, or a CSV with a signal column)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("import", help="Add the file's hashes to the bank (all or none).")
        load.add_argument("bank")
        load.add_argument("file")

    def handle(self, *args, action: str, bank: str, file: str, **options) -> None:
        if not Bank.objects.filter(pk=bank).exists():
            raise CommandError(f"No bank with id {bank!r}.")
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        try:
            result, added = import_file(bank, text, source=SOURCE_FILE)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not result.ok:
            raise CommandError(
                "\n".join(
                    f"{file}: {e.message}" if e.path == "file" else f"{e.path}: {e.message}"
                    for e in result.errors
                )
            )
        self.stdout.write(f"Added {added} hashes to {bank}.")
