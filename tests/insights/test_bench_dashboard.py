"""`coop bench dashboard` runs end to end at a tiny scale (figures are reported, not asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_the_dashboard_bench_runs_and_reports_its_metrics(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "coop",
            "bench",
            "dashboard",
            "--size",
            "2000",
            "--seconds",
            "0.5",
            "--json",
        ],
        env={**os.environ, "COOP_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["scenario"] == "dashboard"
    assert result["metrics"]["rule_executions"] == 10_000
    assert result["metrics"]["seed_events"] > 10_000
    assert set(result["targets"]) <= set(result["metrics"])
