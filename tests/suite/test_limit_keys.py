"""The options that make limits, credits, reference images and Content-Type checkable without
the mock's admin API: they pass against a mock set up with low limits and a low balance, and
each broken variant of it fails and names its rule."""

from __future__ import annotations

import shlex
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from contract_tests.options import OPTIONS
from contract_tests.report import Outcome
from mock_server.testing.server import MockServer
from tests.suite.harness import (
    LIMIT_KEY,
    LOW_BALANCE_KEY,
    Answer,
    MakeRewrite,
    Rewrite,
    keyed_mock,
    run_suite,
    served_mock,
)
from tests.suite.test_docs import blocks

SUBMIT_PATH = "/api/v1/generateTask/gpt-image-1"
# Slow enough that the limit key's polls stay far below its 40 requests a minute.
POLLING = (
    "--apixo-poll-initial",
    "0.5",
    "--apixo-poll-interval",
    "0.25",
    "--apixo-task-timeout",
    "30",
    "--apixo-max-images",
    "20",
)
LIMIT_OPTIONS = (
    "--apixo-limit-key",
    LIMIT_KEY,
    "--apixo-limit-unfinished",
    "3",
    "--apixo-limit-rpm",
    "40",
    "--apixo-low-balance-key",
    LOW_BALANCE_KEY,
)
LIMIT_ENV = {
    "APIXO_LIMIT_KEY": LIMIT_KEY,
    "APIXO_LIMIT_UNFINISHED": "3",
    "APIXO_LIMIT_RPM": "40",
    "APIXO_LOW_BALANCE_KEY": LOW_BALANCE_KEY,
}
LIMIT_TESTS = "test_limit_key or test_low_balance"
NEW_RULES = (
    "limits.unfinished-tasks-429",
    "limits.refusal-free",
    "limits.requests-per-minute-429",
    "precedence.rate-limit-order",
    "precedence.task-cap-order",
    "balance.insufficient-400",
)


@pytest.mark.parametrize("given_as", ["flags", "env"])
def test_limit_and_low_balance_rules_pass_against_a_mock_with_low_limits(
    monkeypatch: pytest.MonkeyPatch, given_as: str
) -> None:
    """K3 capped at 3 tasks and 40 requests a minute, K4 below one image: every rule checked."""
    options: tuple[str, ...] = LIMIT_OPTIONS
    if given_as == "env":
        for name, value in LIMIT_ENV.items():
            monkeypatch.setenv(name, value)
        options = ()
    with keyed_mock() as base_url:
        code, outcomes = run_suite(base_url, *POLLING, *options, "-k", LIMIT_TESTS)
    assert code == pytest.ExitCode.OK, "\n\n".join(outcomes.failures)
    assert outcomes.report is not None
    states = outcomes.report.states
    assert {rule: states[rule].outcome for rule in NEW_RULES} == dict.fromkeys(
        NEW_RULES, Outcome.CHECKED
    )
    assert any("Retry-After" in note for note in states["ratelimit.retry-after"].notes)


def test_without_the_options_the_rules_skip_naming_them() -> None:
    """No limit key, no low-balance key: skipped, and the reason says which option to give."""
    with keyed_mock() as base_url:
        code, outcomes = run_suite(base_url, *POLLING, "-k", LIMIT_TESTS)
    assert code == pytest.ExitCode.OK, outcomes.failures
    assert outcomes.report is not None
    states = outcomes.report.states
    for rule, option in (
        ("limits.unfinished-tasks-429", "--apixo-limit-key"),
        ("limits.requests-per-minute-429", "--apixo-limit-key"),
        ("balance.insufficient-400", "--apixo-low-balance-key"),
    ):
        assert states[rule].outcome is Outcome.SKIPPED
        assert option in " ".join(states[rule].details)


def test_the_documented_served_mock_sample_passes() -> None:
    """docs/contract-suite.md's `serve --max-unfinished 3 --rpm 40` and `contract --limit-key`
    sample, run as written (on a free port instead of 8010)."""
    [sample] = [code for code in blocks("sh") if "--limit-key" in code]
    serve, contract = (shlex.split(line.rstrip(" &")) for line in sample.strip().splitlines())
    flags = serve[2:]
    del flags[flags.index("--port") : flags.index("--port") + 2]
    names = {f"--{option.name}" for option in OPTIONS}
    args = ["--apixo" + word[1:] if word in names else word for word in contract[2:]]
    del args[args.index("--apixo-base-url") : args.index("--apixo-base-url") + 2]
    with served_mock(*flags) as base_url:
        code, outcomes = run_suite(base_url, *args)
    assert code == pytest.ExitCode.OK, "\n\n".join(outcomes.failures)
    assert outcomes.report is not None
    states = outcomes.report.states
    for rule in ("limits.unfinished-tasks-429", "limits.requests-per-minute-429"):
        assert states[rule].outcome is Outcome.CHECKED


def _is_api(environ: dict[str, Any]) -> bool:
    return str(environ["PATH_INFO"]).startswith("/api/")


def _key(environ: dict[str, Any]) -> str:
    return str(environ.get("HTTP_AUTHORIZATION", "")).removeprefix("Bearer ")


def _envelope(status: str, code: int, message: str) -> Answer:
    return Answer(status, [("Content-Type", "application/json")], b"").with_json(
        {"code": code, "message": message, "data": None}
    )


def _plain_429s(server: MockServer) -> Rewrite:
    """429s answered as text/plain 'Too Many Requests', without the envelope."""

    def rewrite(environ: dict[str, Any], answer: Answer) -> Answer:
        if not answer.status.startswith("429"):
            return answer
        return Answer(answer.status, [("Content-Type", "text/plain")], b"Too Many Requests")

    return rewrite


def _charging_429s(server: MockServer) -> Rewrite:
    """A submit refused with 429 still takes one image's price from the balance."""

    def rewrite(environ: dict[str, Any], answer: Answer) -> Answer:
        if environ["PATH_INFO"] == SUBMIT_PATH and answer.status.startswith("429"):
            key = _key(environ)
            balance = Decimal(str(server.service.balance(key)))
            server.set_balance(str(balance - Decimal("0.35")), key=key)
        return answer

    return rewrite


def _not_found_before_rate(server: MockServer) -> Rewrite:
    """An unknown model is 404 even while the key is throttled: the rate comes too late."""

    def rewrite(environ: dict[str, Any], answer: Answer) -> Answer:
        unknown_model = environ["PATH_INFO"].startswith("/api/v1/generateTask/apixo-contract")
        if unknown_model and answer.status.startswith("429"):
            return _envelope("404 NOT FOUND", 404, "Model not found")
        return answer

    return rewrite


def _credits_ignored(server: MockServer) -> Rewrite:
    """A submit the balance cannot cover is accepted (as if the target never checked)."""

    def rewrite(environ: dict[str, Any], answer: Answer) -> Answer:
        if b"Insufficient credits" not in answer.body:
            return answer
        accepted = {"code": 200, "message": "success", "data": {"taskId": "task_uncovered"}}
        return Answer("200 OK", [("Content-Type", "application/json")], b"").with_json(accepted)

    return rewrite


def _credits_as_403(server: MockServer) -> Rewrite:
    """Insufficient credits answered 403."""

    def rewrite(environ: dict[str, Any], answer: Answer) -> Answer:
        if b"Insufficient credits" not in answer.body:
            return answer
        return _envelope("403 FORBIDDEN", 403, "Insufficient credits")

    return rewrite


def _json_as_text_plain(server: MockServer) -> Rewrite:
    """Every API answer is JSON labelled text/plain."""

    def rewrite(environ: dict[str, Any], answer: Answer) -> Answer:
        if not _is_api(environ):
            return answer
        headers = [(k, v) for k, v in answer.headers if k.lower() != "content-type"]
        return Answer(answer.status, [*headers, ("Content-Type", "text/plain")], answer.body)

    return rewrite


# variant: (rewrite, mock settings, tests to run, the rule it must fail)
BROKEN: dict[str, tuple[MakeRewrite | None, dict[str, Any], str, str]] = {
    "no-task-cap": (None, {"limit_cap": None}, "test_limit_key", "limits.unfinished-tasks-429"),
    "no-rate-limit": (
        None,
        {"limit_rpm": None},
        "test_limit_key",
        "limits.requests-per-minute-429",
    ),
    "429-without-envelope": (_plain_429s, {}, "test_limit_key", "envelope.json"),
    "429-is-charged": (_charging_429s, {}, "test_limit_key", "limits.refusal-free"),
    "404-before-the-rate": (
        _not_found_before_rate,
        {},
        "test_limit_key",
        "precedence.rate-limit-order",
    ),
    "credits-never-checked": (
        _credits_ignored,
        {},
        "test_low_balance",
        "balance.insufficient-400",
    ),
    "insufficient-credits-403": (
        _credits_as_403,
        {},
        "test_low_balance",
        "balance.insufficient-400",
    ),
    "references-never-fetched": (
        None,
        {"triggers": False},
        "test_unreachable_reference",
        "failures.invalid-image-url",
    ),
    "json-labelled-text-plain": (
        _json_as_text_plain,
        {},
        "test_balance_is_a_bare_number",
        "envelope.content-type",
    ),
}


@pytest.mark.parametrize("variant", list(BROKEN))
def test_each_broken_variant_fails_and_names_its_rule(variant: str) -> None:
    """One rule broken on a target without admin API: the run fails and says which."""
    make_rewrite, settings, selection, rule = BROKEN[variant]
    with keyed_mock(make_rewrite, **settings) as base_url:
        code, outcomes = run_suite(base_url, *POLLING, *LIMIT_OPTIONS, "-k", selection)
    assert code == pytest.ExitCode.TESTS_FAILED
    assert rule in outcomes.failed_rules(), outcomes.failures
    assert any(f"{rule}: " in text for text in outcomes.failures), outcomes.failures


def test_402_is_a_dialect_reported_and_failed_only_when_strict(tmp_path: Path) -> None:
    """A target answering 402: reported in the summary and the JUnit properties; with
    --apixo-strict it fails balance.insufficient-400."""
    junit = tmp_path / "junit.xml"
    with keyed_mock(insufficient_credits_status=402) as base_url:
        code, outcomes = run_suite(
            base_url, *POLLING, *LIMIT_OPTIONS, "-k", "test_low_balance", f"--junitxml={junit}"
        )
        strict_code, strict = run_suite(
            base_url, *POLLING, *LIMIT_OPTIONS, "-k", "test_low_balance", "--apixo-strict"
        )
    assert code == pytest.ExitCode.OK, outcomes.failures
    assert outcomes.report is not None
    assert outcomes.report.dialects == {"insufficient-credits-status": "402 (contract: 400)"}
    assert "dialect insufficient-credits-status: 402 (contract: 400)" in outcomes.report.lines()
    properties = {
        prop.get("name"): prop.get("value") for prop in ElementTree.parse(junit).iter("property")
    }
    assert properties["apixo_dialect_insufficient-credits-status"] == "402"
    assert strict_code == pytest.ExitCode.TESTS_FAILED
    assert "balance.insufficient-400" in strict.failed_rules()
