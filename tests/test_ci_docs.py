"""docs/ci.md: the workflow parses, and every apixo-mock flag it uses exists."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

DOC = Path(__file__).parents[1] / "docs" / "ci.md"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def commands() -> list[list[str]]:
    found = []
    for body in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        workflow = yaml.safe_load(body)
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                for line in str(step.get("run", "")).splitlines():
                    if line.strip().startswith("apixo-mock "):
                        found.append(shlex.split(line.replace("&", "")))
    return found


def test_the_workflow_serves_the_mock() -> None:
    assert any(cmd[:2] == ["apixo-mock", "serve"] for cmd in commands())


def test_every_flag_exists() -> None:
    for command in commands():
        help_text = subprocess.run(
            [sys.executable, "-m", "mock_server", command[1], "--help"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for flag in (word for word in command if word.startswith("--")):
            assert flag in help_text, f"{flag} is not an option of apixo-mock {command[1]}"
