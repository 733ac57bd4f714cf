from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from coop.bench import backtest, claim, hash, ingest, memory, pipeline, text

SCENARIOS = {
    "ingest": ingest.run,
    "text": text.run,
    "hash": hash.run,
    "evaluate": pipeline.run_evaluate,
    "e2e": pipeline.run_e2e,
    "claim": claim.run,
    "memory": memory.run,
    "backtest": backtest.run,
}


class Command(BaseCommand):
    help = "Run a benchmark scenario (bench/README.md) against a scratch database."

    def add_arguments(self, parser):
        parser.add_argument("scenario", choices=sorted(SCENARIOS))
        parser.add_argument("--json", action="store_true", help="Print one JSON object only.")
        parser.add_argument("--seconds", type=float, default=20.0, help="Measured duration.")
        parser.add_argument(
            "--submissions",
            type=int,
            default=1_000_000,
            help="Stored submissions the backtest scenario evaluates.",
        )

    def handle(self, *args, scenario: str, json: bool, seconds: float, submissions: int, **options):
        sized = {"submissions": submissions} if scenario == "backtest" else {}
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
