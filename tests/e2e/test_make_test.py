"""`make test`: the tests in parallel worker processes, as the README says; ARGS still reach pytest.

`make -n` prints the recipes without running them: nothing is installed or tested.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_make_serve import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def pytest_command(*args: str, venv: Path) -> str:
    """The pytest line `make test` would run.

    Without the calling make's variables: under `make test TEST_WORKERS=0` they
    reach this make through MAKEFLAGS and would override its defaults.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "test", *args, f"VENV={venv}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (line,) = [command for command in result.stdout.splitlines() if " -m pytest " in command]
    return line


def test_make_test_runs_workers_by_load_group_and_passes_args(tmp_path: Path) -> None:
    line = pytest_command("ARGS=tests/e2e -k serve", venv=tmp_path / "venv")
    workers = re.search(r" -n (\d+) --dist loadgroup ", line)
    assert workers is not None, line
    assert 1 <= int(workers.group(1)) <= 4
    assert line.endswith("--dist loadgroup tests/e2e -k serve")


def test_the_readme_way_to_run_in_one_process(tmp_path: Path) -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "`make test TEST_WORKERS=0` runs them in one process" in readme
    assert " -n 0 " in pytest_command("TEST_WORKERS=0", venv=tmp_path / "venv")
