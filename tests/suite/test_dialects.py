"""Dialects on a target without admin API: reported (summary and JUnit), failed only when strict.

Each variant is the mock made to read the docs the other way: its own
`accept_nvariants` setting, or a request hook where the mock has none
(`null` taken as "omitted", a JSON body read whatever its Content-Type).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.suite.harness import Before, keyed_mock, run_suite
from tests.suite.test_limit_keys import POLLING

SUBMIT_PATH = "/api/v1/generateTask/gpt-image-1"
VIOLATION = ("--apixo-violation-prompt", "a street at night, mock:fail:CONTENT_VIOLATION")


def _submit_body(environ: dict[str, Any]) -> Any:
    """The submit's JSON body (None for anything else), read off the input stream."""
    if environ["PATH_INFO"] != SUBMIT_PATH or environ["REQUEST_METHOD"] != "POST":
        return None
    raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(raw)  # put back, for the mock to read
    try:
        return json.loads(raw)
    except ValueError:
        return None


def nulls_mean_omitted(environ: dict[str, Any]) -> None:
    """Fields set to null in `input` are dropped before the mock sees the body."""
    body = _submit_body(environ)
    if not (isinstance(body, dict) and isinstance(body.get("input"), dict)):
        return
    body["input"] = {name: value for name, value in body["input"].items() if value is not None}
    raw = json.dumps(body).encode()
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))


def any_content_type_is_json(environ: dict[str, Any]) -> None:
    """A submit's body is read as JSON whatever its Content-Type says."""
    if _submit_body(environ) is not None:
        environ["CONTENT_TYPE"] = "application/json"


# variant: (request hook, mock settings, tests to run, the rule, the dialect, its reading)
VARIANTS: dict[str, tuple[Before | None, dict[str, Any], str, str, str, str]] = {
    "null-is-omitted": (
        nulls_mean_omitted,
        {},
        "test_null_for",
        "submit.aspect-ratio-400",
        "null-optional",
        "accepted as omitted",
    ),
    "any-content-type": (
        any_content_type_is_json,
        {},
        "test_json_labelled",
        "submit.content-type-400",
        "content-type",
        "accepted",
    ),
    "no-nvariants": (
        None,
        {"accept_nvariants": False},
        # Every test that sends nVariants: a dialect must not fail them either.
        "nvariants or mutation or valid_bodies or refunded or interleaving or download",
        "alias.nvariants",
        "nvariants",
        "not an alias",
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_dialect_is_reported_and_fails_only_when_strict(tmp_path: Path, variant: str) -> None:
    """Without --apixo-strict: passes, with a summary line and a JUnit property; with it: fails
    and names the rule."""
    before, settings, selection, rule, dialect, reading = VARIANTS[variant]
    junit = tmp_path / "junit.xml"
    with keyed_mock(before=before, **settings) as base_url:
        args = (*POLLING, *VIOLATION, "-k", selection)
        code, outcomes = run_suite(base_url, *args, f"--junitxml={junit}")
        strict_code, strict = run_suite(base_url, *args, "--apixo-strict")
    assert code == pytest.ExitCode.OK, outcomes.failures
    assert outcomes.report is not None
    assert f"dialect {dialect}: {reading} (contract: " in "\n".join(outcomes.report.lines())
    properties = {p.get("name"): p.get("value") for p in ElementTree.parse(junit).iter("property")}
    assert properties[f"apixo_dialect_{dialect}"] == reading
    assert strict_code == pytest.ExitCode.TESTS_FAILED
    assert rule in strict.failed_rules(), strict.failures
    assert any(f"{rule}: " in text for text in strict.failures), strict.failures
