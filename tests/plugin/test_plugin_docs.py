"""Every code sample in docs/pytest-plugin.md runs: test modules in a fresh pytest session.

A ```python sample that defines tests runs with `pytester` (strict markers,
warnings as errors) and all its tests must pass; any other sample is executed
as a script. The ```toml and ```console samples configure a run whose tests
check that one server was shared.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "pytest-plugin.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
TEST_DEF = re.compile(r"^def (test_\w+)", re.MULTILINE)
SHARED_CHECK = """
    seen = set()

    def test_one(apixo_mock):
        seen.add(apixo_mock.base_url)

    def test_two(apixo_mock):
        seen.add(apixo_mock.base_url)
        assert len(seen) == 1
"""


def samples(language: str) -> list[str]:
    """The doc's code samples in `language`, in order."""
    text = DOC.read_text(encoding="utf-8")
    return [code for lang, code in FENCE.findall(text) if lang == language]


def sample_id(code: str) -> str:
    tests = TEST_DEF.findall(code)
    return tests[0] if tests else "script"


PYTHON = samples("python")


def test_the_doc_has_samples_to_check() -> None:
    assert len(PYTHON) >= 8
    assert len(samples("toml")) == len(samples("console")) == 1


@pytest.mark.parametrize("code", PYTHON, ids=[sample_id(code) for code in PYTHON])
def test_python_sample_runs(pytester: pytest.Pytester, code: str) -> None:
    tests = TEST_DEF.findall(code)
    if not tests:
        exec(compile(code, f"{DOC.name} (script sample)", "exec"), {"__name__": "__sample__"})
        return
    pytester.makepyfile(code)

    result = pytester.runpytest("--strict-markers", "-W", "error")

    result.assert_outcomes(passed=len(tests))


def test_toml_sample_shares_one_server(pytester: pytest.Pytester) -> None:
    [toml] = samples("toml")
    pytester.makefile(".toml", pyproject=toml)
    pytester.makepyfile(SHARED_CHECK)

    pytester.runpytest().assert_outcomes(passed=2)


def test_console_sample_shares_one_server(pytester: pytest.Pytester) -> None:
    [console] = samples("console")
    command = shlex.split(console.strip().removeprefix("$ "))
    assert command[0] == "pytest"
    pytester.makepyfile(SHARED_CHECK)

    pytester.runpytest(*command[1:]).assert_outcomes(passed=2)
