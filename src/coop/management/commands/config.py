"""`coop config apply FILE [--dry-run] [--prune]` and `coop config export [-o FILE]`."""

from __future__ import annotations

import getpass
import socket
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coop.config import ConfigSyntaxError, apply_document, export_yaml, parse_text


def operator() -> str:
    """Who runs the command, for the configuration history: user@host of the process."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        name = "unknown user"
    return f"{name}@{socket.gethostname()}"


class Command(BaseCommand):
    help = "Apply or export the configuration file (configuration as code)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        apply = sub.add_parser("apply", help="validate, print the plan and apply it atomically")
        apply.add_argument("file", help="the YAML configuration file ('-' for stdin)")
        apply.add_argument("--dry-run", action="store_true", help="print the plan only")
        apply.add_argument(
            "--prune", action="store_true", help="delete objects absent from the file"
        )
        export = sub.add_parser("export", help="write the current configuration as YAML")
        export.add_argument("-o", "--output", help="write to this file instead of stdout")

    def handle(self, *args, **options) -> None:
        if options["action"] == "apply":
            self.apply(options["file"], dry_run=options["dry_run"], prune=options["prune"])
        else:
            self.export(options.get("output"))

    def apply(self, file: str, *, dry_run: bool, prune: bool) -> None:
        try:
            text = self.stdin_text() if file == "-" else Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        try:
            document, errors = parse_text(text)
        except ConfigSyntaxError as exc:
            raise CommandError(f"{file}: {exc}") from exc
        if not errors:
            plan = apply_document(document, prune=prune, dry_run=dry_run, actor=operator())
            errors = plan.errors
        if errors:
            for error in errors:
                self.stderr.write(str(error))
            raise CommandError(f"{file}: {len(errors)} error(s); nothing was changed")
        for line in plan.lines():
            self.stdout.write(line)

    def stdin_text(self) -> str:
        return sys.stdin.read()

    def export(self, output: str | None) -> None:
        text = export_yaml()
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
