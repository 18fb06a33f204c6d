"""docs/dashboard.md holds: every page it lists answers, and its bench command runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from flask.testing import FlaskClient

from ..conftest import AUTH, SUBMIT, submit_body
from .browser import ROOT

DOC = ROOT / "docs" / "dashboard.md"
PAGE_PATH = re.compile(r"\| `(/__admin/ui[^`]*)` \|")
COMMAND = re.compile(r"```\n(PYTHONPATH=\. \.venv/bin/python bench/dashboard\.py[^\n]*)\n```")


def test_every_page_the_doc_lists_answers(client: FlaskClient) -> None:
    task_id = client.post(SUBMIT, json=submit_body(), headers=AUTH).get_json()["data"]["taskId"]
    paths = PAGE_PATH.findall(DOC.read_text(encoding="utf-8"))
    assert len(paths) == 7
    for path in paths:
        answer = client.get(path.replace("ID", task_id))
        assert (path, answer.status_code) == (path, 200)


def test_the_bench_command_of_the_doc_runs_and_times_every_page() -> None:
    found = COMMAND.search(DOC.read_text(encoding="utf-8"))
    assert found is not None
    assert found.group(1).endswith("--tasks 100000 --rounds 30")
    done = subprocess.run(
        [sys.executable, "bench/dashboard.py", "--tasks", "300", "--rounds", "1"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("300 tasks stored")
    assert len([line for line in lines if "median" in line]) == 14
