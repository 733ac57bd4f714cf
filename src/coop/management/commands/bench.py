from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from coop.bench import claim, dashboard, hash, ingest, memory, pipeline, text

SCENARIOS = {
    "ingest": ingest.run,
    "text": text.run,
    "hash": hash.run,
    "evaluate": pipeline.run_evaluate,
    "e2e": pipeline.run_e2e,
    "claim": claim.run,
    "memory": memory.run,
    "dashboard": dashboard.run,
}
SCALED = {"dashboard"}  # scenarios whose data volume --scale multiplies


class Command(BaseCommand):
    help = "Run a benchmark scenario (bench/README.md) against a scratch database."

    def add_arguments(self, parser):
        parser.add_argument("scenario", choices=sorted(SCENARIOS))
        parser.add_argument("--json", action="store_true", help="Print one JSON object only.")
        parser.add_argument("--seconds", type=float, default=20.0, help="Measured duration.")
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="Multiply the data volume (dashboard only; 0.01 = 1/100 of the full size).",
        )

    def handle(self, *args, scenario: str, json: bool, seconds: float, scale: float, **options):
        if scale <= 0:
            raise CommandError("--scale must be positive")
        if scenario in SCALED:
            result = SCENARIOS[scenario](seconds=seconds, scale=scale)
        elif scale != 1.0:
            raise CommandError(f"--scale applies to {', '.join(sorted(SCALED))} only")
        else:
            result = SCENARIOS[scenario](seconds=seconds)
        if json:
            self.stdout.write(_dumps(result.as_dict()))
            return
        summary = ", ".join(f"{k}={v:,.1f}" for k, v in result.metrics.items())
        self.stdout.write(f"{scenario}: {summary} — targets {'met' if result.met else 'NOT met'}")
        if not result.met:
            raise CommandError("targets not met")


def _dumps(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True)
