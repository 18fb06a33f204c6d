"""docs/configuration.md lists every setting exactly as the code defines it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mock_server.settings import reference_table

DOC = Path(__file__).parents[1] / "docs" / "configuration.md"


def test_reference_table_is_current() -> None:
    assert reference_table() in DOC.read_text(encoding="utf-8"), (
        "regenerate: python -c 'from mock_server.settings import reference_table; "
        "print(reference_table())'"
    )


def test_documented_errors_are_what_the_cli_prints() -> None:
    env = {**os.environ, "APIXO_MOCK_PROFILE": "slow"}
    command = [sys.executable, "-m", "mock_server", "serve"]
    for argv, environ in ((["--rpm", "abc"], os.environ), ([], env)):
        result = subprocess.run(command + argv, capture_output=True, text=True, env=dict(environ))
        assert result.returncode == 2
        assert result.stderr.strip() in DOC.read_text(encoding="utf-8")


def test_every_flag_is_in_serve_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--help"], capture_output=True, text=True
    )
    for line in reference_table().splitlines()[2:]:
        env_name = line.split("|")[3].strip().strip("`")
        assert env_name in result.stdout.replace("\n", " ").replace("  ", " ")


def test_the_memory_bench_command_runs_and_keeps_at_most_max_tasks_finished() -> None:
    text = DOC.read_text(encoding="utf-8")
    command = text.split("## Memory", 1)[1].split("```\n", 2)[1].strip()
    assert command == ".venv/bin/python bench/memory.py --tasks 1000000"
    argv = [*command.split()[1:], "--tasks", "3000", "--max-tasks", "1000"]  # the last wins
    root = DOC.parents[1]
    result = subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    kept = int(result.stdout.split(" tasks kept")[0].rsplit("; ", 1)[1])
    assert 1000 <= kept <= 1000 + 250  # the cap, plus the last ~220 ms of unfinished tasks
