"""docs/scenarios.md: its YAML loads, its tables cover every shipped scenario and failCode."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from mock_server.core.lifecycle import FailCode
from mock_server.core.scenario_files import scenario_from_document, shipped_scenarios

DOC = Path(__file__).parents[1] / "docs" / "scenarios.md"
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)


def text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_yaml_samples_are_valid_scenarios() -> None:
    samples = [body for lang, body in BLOCK.findall(text()) if lang == "yaml"]
    assert samples
    for body in samples:
        assert scenario_from_document(yaml.safe_load(body)).rules


def test_every_shipped_scenario_is_documented() -> None:
    for name in shipped_scenarios():
        assert f"| `{name}` |" in text()


def test_every_fail_code_is_documented() -> None:
    for code in FailCode:
        assert f"| {code.value} | `mock:fail:{code.value}`" in text()


def test_validate_sample_matches_the_cli(tmp_path: Path) -> None:
    sample = next(body for lang, body in BLOCK.findall(text()) if lang == "console")
    file_part, output_part = sample.split("$ apixo-mock scenarios validate broken.yaml\n")
    (tmp_path / "broken.yaml").write_text(
        file_part.removeprefix("$ cat broken.yaml\n"), encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "scenarios", "validate", "broken.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    documented = output_part.splitlines()
    printed = result.stderr.splitlines()
    assert len(printed) == len(documented) == 4
    for shown, line in zip(documented, printed, strict=True):
        assert line.startswith(shown.removesuffix(", ...]"))
