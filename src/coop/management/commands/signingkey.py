from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from coop.accounts.services import active_signing_key, rotate_signing_key


class Command(BaseCommand):
    help = "The webhook signing key: show prints the public key (PEM); rotate replaces it."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("show", help="Print the active public key (PEM).")
        sub.add_parser("rotate", help="Retire the active key (listed for 24 h) and make a new one.")

    def handle(self, *args, action: str, **options) -> None:
        key = active_signing_key() if action == "show" else rotate_signing_key()
        if action == "rotate":
            self.stderr.write("Rotated. The previous public key stays listed for 24 hours.")
        self.stdout.write(key.public_pem.rstrip("\n"))
