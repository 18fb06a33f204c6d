"""bench/delivery_scripts.py keeps working as docs/callbacks.md shows it (figures printed,
never asserted): it must still deliver each callback once through the real store, and
print Redis's CPU per callback split by script (or, with --callgrind, instructions)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
BENCH = ROOT / "bench" / "delivery_scripts.py"
DOC = ROOT / "docs" / "callbacks.md"


def doc_commands() -> list[str]:
    """The benchmark's command lines in docs/callbacks.md, whitespace made single."""
    found = re.findall(r"`(\.venv/bin/python bench/delivery_scripts\.py[^`]*)`", DOC.read_text())
    return [" ".join(command.split()) for command in found]


def run(*args: str) -> str:
    # This checkout's package, whatever the interpreter has installed.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(BENCH), *args],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_documented_command_prints_redis_cpu_per_callback_by_script() -> None:
    assert ".venv/bin/python bench/delivery_scripts.py --deliveries 10000" in doc_commands()
    out = run("--deliveries", "200", "--repeat", "1")  # the documented run, smaller
    assert re.search(r"^200 callbacks: Redis CPU [\d.]+ us per callback \(claim ", out, re.M)
    assert "renew " in out
    assert "settle " in out
    assert "commands per callback: " in out
    assert re.search(r"evalsha 1\.\d+ ", out)  # a settle each, claims and renewals besides
    assert "hget " not in out  # the settle reads no lease entry


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_the_documented_callgrind_command_counts_instructions_by_script() -> None:
    documented = ".venv/bin/python bench/delivery_scripts.py --callgrind --deliveries 2048"
    assert documented in doc_commands()
    out = run("--callgrind", "--deliveries", "64", "--repeat", "1")
    assert re.search(r"^64 callbacks: redis-server ran [\d,]+ instructions per callback", out)
    assert re.search(r"\(claim [\d,]+, renew [\d,]+, settle [\d,]+\)", out)
