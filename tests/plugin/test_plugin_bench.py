"""bench/startup.py keeps working (a smoke run: its timings are reported, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench" / "startup.py"


def test_the_startup_benchmark_runs_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--runs", "2", "--budget-ms", "1e9"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "median" in result.stdout
    assert "p95" in result.stdout
