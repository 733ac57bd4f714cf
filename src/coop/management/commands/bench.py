from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from coop.bench import backtest, banks, bulk, claim, dashboard, hash, ingest, memory, pipeline, text

SCENARIOS = {
    "ingest": ingest.run,
    "text": text.run,
    "hash": hash.run,
    "evaluate": pipeline.run_evaluate,
    "e2e": pipeline.run_e2e,
    "claim": claim.run,
    "memory": memory.run,
    "banks": banks.run,
    "bulk": bulk.run,
    "backtest": backtest.run,
    "dashboard": dashboard.run,
}
# Scenarios that take --size: the keyword it sets, and what it counts.
SIZED = {
    "backtest": ("submissions", "stored submissions (default 1,000,000)"),
    "banks": ("entries", "bank entries (default 100,000)"),
    "bulk": ("size", "item ids (default 10,000)"),
    "dashboard": ("action_executions", "action executions, and 5x rule executions (10,000,000)"),
}
SCALED = {"dashboard"}  # scenarios whose data volume --scale multiplies


class Command(BaseCommand):
    help = "Run a benchmark scenario (bench/README.md) against a scratch database."

    def add_arguments(self, parser):
        parser.add_argument("scenario", choices=sorted(SCENARIOS))
        parser.add_argument("--json", action="store_true", help="Print one JSON object only.")
        parser.add_argument("--seconds", type=float, default=20.0, help="Measured duration.")
        parser.add_argument(
            "--size",
            type=int,
            help="Data volume of sized scenarios: "
            + "; ".join(f"{name}: {what}" for name, (_, what) in sorted(SIZED.items())),
        )

    def handle(self, *args, scenario: str, json: bool, seconds: float, size: int | None, **options):
        if size is not None and scenario not in SIZED:
            raise CommandError(f"--size applies to {', '.join(sorted(SIZED))} only")
        if size is not None and size <= 0:
            raise CommandError("--size must be positive")
        sized = {SIZED[scenario][0]: size} if size is not None else {}
        result = SCENARIOS[scenario](seconds=seconds, **sized)
        if json:
            self.stdout.write(_dumps(result.as_dict()))
            return
        summary = ", ".join(f"{k}={v:,.1f}" for k, v in result.metrics.items())
        self.stdout.write(f"{scenario}: {summary} — targets {'met' if result.met else 'NOT met'}")
        if not result.met:
            raise CommandError("targets not met")


def _dumps(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True)
