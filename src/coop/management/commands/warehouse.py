from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from coop.warehouse import sink
from coop.warehouse.models import OutboxEntry


def _moment(value: str) -> dt.datetime:
    """An ISO date or date-time; naive ones are UTC."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"{value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+00:00]"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = "The ClickHouse mirror of the event stream (COOP_WAREHOUSE=clickhouse)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        backfill = sub.add_parser(
            "backfill", help="Copy the events created since a date to ClickHouse (idempotent)."
        )
        backfill.add_argument("--since", required=True, help="YYYY-MM-DD (UTC) or ISO date-time")
        backfill.add_argument("--until", help="end, excluded (default: now)")
        sub.add_parser("status", help="Print whether capture is on and what the outbox holds.")
        sub.add_parser("ship", help="Ship the outbox now (the worker does it every minute).")

    def handle(self, *args, action: str, **options) -> None:
        if action == "status":
            self._status()
            return
        if settings.COOP_WAREHOUSE != "clickhouse":
            raise CommandError("COOP_WAREHOUSE is not clickhouse: there is no ClickHouse to fill.")
        sink.sync_state()
        if action == "ship":
            self.stdout.write(f"Shipped {sink.ship()} events; {sink.pending()} wait.")
            return
        since = _moment(options["since"])
        until = _moment(options["until"]) if options["until"] else timezone.now()
        if until <= since:
            raise CommandError("--until must be after --since.")
        try:
            sent = sink.backfill(since, until, out=self.stderr.write)  # progress per page
        except Exception as exc:  # the client's connection and server errors
            raise CommandError(f"ClickHouse at CLICKHOUSE_URL failed: {exc}") from exc
        for name, count in sent.items():
            self.stdout.write(f"{name}\t{count}")
        self.stdout.write(f"Backfilled {sum(sent.values())} events since {since.isoformat()}.")

    def _status(self) -> None:
        oldest = OutboxEntry.objects.order_by("id").values_list("created_at", flat=True).first()
        self.stdout.write(f"warehouse\t{settings.COOP_WAREHOUSE}")
        self.stdout.write(f"outbox\t{sink.pending()}")
        self.stdout.write(f"oldest\t{oldest.isoformat() if oldest else '-'}")
