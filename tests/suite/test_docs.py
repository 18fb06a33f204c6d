"""docs/contract-suite.md is tested: its options exist, its commands parse, its CI YAML loads."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from contract_tests.target import OPTIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "contract-suite.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
FLAG = re.compile(r"--apixo-[a-z-]+")


def blocks(language: str) -> list[str]:
    """The fenced code blocks of one language."""
    return [code for lang, code in FENCE.findall(DOC.read_text()) if lang == language]


def test_every_option_is_documented_and_every_documented_option_exists() -> None:
    """The options table and the samples match the suite's options."""
    documented = set(FLAG.findall(DOC.read_text()))
    flags = {option.flag for option in OPTIONS}
    assert documented == flags
    text = DOC.read_text()
    assert all(option.env in text for option in OPTIONS)


def test_shell_samples_parse() -> None:
    """Each command is valid shell; the installed runner's short options exist."""
    short = {f"--{option.name}" for option in OPTIONS}
    for code in blocks("sh"):
        for line in code.strip().splitlines():
            words = shlex.split(line.rstrip("&"))
            if words[:2] == ["apixo-mock", "contract"]:
                assert {w for w in words if w.startswith("--") and "=" not in w} <= short | {
                    "--junitxml"
                }


def test_ci_sample_loads() -> None:
    """The GitHub Actions example is YAML with the suite's variables."""
    [code] = blocks("yaml")
    workflow = yaml.safe_load(code)
    steps = workflow["jobs"]["apixo-contract"]["steps"]
    env = next(step["env"] for step in steps if "env" in step)
    assert {"APIXO_BASE_URL", "APIXO_API_KEY", "APIXO_OTHER_API_KEY"} <= set(env)
