"""docs/callbacks.md is tested: its Python runs, its JSON parses, its YAML rules build effects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from mock_server.core.callbacks import CallbackEffect

DOC = Path(__file__).resolve().parents[1] / "docs" / "callbacks.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [code for lang, code in FENCE.findall(DOC.read_text()) if lang == language]


@pytest.mark.parametrize("code", blocks("python"), ids=lambda code: code.splitlines()[0])
def test_python_samples_run(code: str) -> None:
    exec(compile(code, str(DOC), "exec"), {"__name__": "docs_callbacks"})


@pytest.mark.parametrize("code", blocks("json"))
def test_json_samples_parse(code: str) -> None:
    json.loads(code)


def test_yaml_rules_build_callback_effects() -> None:
    [code] = blocks("yaml")
    rules = yaml.safe_load(code)["rules"]
    effects = [CallbackEffect(**rule["then"]["callback"]) for rule in rules]
    assert effects == [
        CallbackEffect(drop=True),
        CallbackEffect(copies=2),
        CallbackEffect(delay_ms=120_000),
        CallbackEffect(reorder=True),
    ]


def test_there_are_samples() -> None:
    assert len(blocks("python")) == 2
    assert len(blocks("json")) == 3
