"""The benchmark harness runs (its figures are reported in bench/README.md, never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("scenario", ["ingest", "text", "hash", "claim", "banks"])
def test_scenario_runs_and_reports_its_metrics(scenario, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "coop", "bench", scenario, "--seconds", "1", "--json"],
        env={**os.environ, "COOP_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["scenario"] == scenario
    assert result["metrics"]
    assert set(result["targets"]) <= set(result["metrics"])
    if scenario == "ingest":
        assert result["metrics"]["errors"] == 0
        assert result["metrics"]["items_per_s"] > 0


def run_sized(scenario: str, size: int, tmp_path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "coop", "bench", scenario, "--size", str(size), "--json"],
        env={**os.environ, "COOP_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["scenario"] == scenario
    return result["metrics"]


def test_bulk_scenario_delivers_every_webhook_once(tmp_path):
    metrics = run_sized("bulk", 200, tmp_path)
    assert (metrics["ids"], metrics["lost"], metrics["duplicated"]) == (200, 0, 0)


def test_backtest_scenario_runs_at_a_small_scale(tmp_path):
    metrics = run_sized("backtest", 3000, tmp_path)
    assert metrics["submissions"] == 3000
    assert metrics["leaves"] == 20
    assert metrics["passed"] > 0
