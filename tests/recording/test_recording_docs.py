"""docs/recording.md: drift samples run on the shipped example, flags exist, Python runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mock_server.cli import main

from .conftest import EXAMPLE

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "recording.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return [body for lang, body in BLOCK.findall(text) if lang == language]


def command_lines() -> list[list[str]]:
    found = []
    for block in blocks("sh"):
        for line in block.splitlines():
            words = shlex.split(line.replace("&", ""))
            start = next((i for i, w in enumerate(words) if w == "apixo-mock"), None)
            if start is not None:
                found.append(words[start:])
    return found


def test_every_flag_exists() -> None:
    lines = command_lines()
    assert {line[1] for line in lines} >= {"record", "drift", "serve"}
    for line in lines:
        help_text = CliRunner().invoke(main, [line[1], "--help"]).output
        for flag in (w for w in line if w.startswith("--")):
            assert flag in help_text, f"{flag} is not an option of apixo-mock {line[1]}"


def test_the_drift_samples_run_on_the_example(tmp_path: Path) -> None:
    (script,) = [block for block in blocks("sh") if "apixo-mock drift" in block]
    script = script.replace("fixtures/recordings/mock-example", str(EXAMPLE))
    script = script.replace("apixo-mock", f"{shlex.quote(sys.executable)} -m mock_server")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "drift.json").read_text().startswith("{")
    assert (tmp_path / "drift.xml").is_file()
    assert "pending_ms:" in (tmp_path / "timing.yaml").read_text()


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_samples_run(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(blocks("python")[index], {"out_dir": tmp_path})
