from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coop.catalog.models import Bank, BankKind
from coop.config.banks import add_entries, import_file
from coop.config.engine import SOURCE_FILE


class Command(BaseCommand):
    help = (
        "Import a file into a bank: HASH banks one hash per line or a CSV with a signal column; "
        "TEXT, REGEX and LOCATION banks one entry per line, as the console's Import file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("import", help="Add the file's entries to the bank (all or none).")
        load.add_argument("bank")
        load.add_argument("file")

    def handle(self, *args, action: str, bank: str, file: str, **options) -> None:
        found = Bank.objects.filter(pk=bank).first()
        if found is None:
            raise CommandError(f"No bank with id {bank!r}.")
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        if found.kind != BankKind.HASH:
            self._import_entries(bank, file, text)
            return
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

    def _import_entries(self, bank: str, file: str, text: str) -> None:
        result = add_entries(bank, text, source=SOURCE_FILE)
        if not result.ok:
            raise CommandError(
                "\n".join(
                    [f"{file}:{p.line}: {p.message}" for p in result.line_errors]
                    + [str(e) for e in result.errors]
                )
            )
        self.stdout.write(f"{bank}: {result.summary()}")
