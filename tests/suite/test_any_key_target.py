"""Against a mock that accepts any key (`make serve`), unknown-key rules skip with the reason."""

from __future__ import annotations

import pytest

from contract_tests.report import Outcome
from tests.suite.harness import broken_mock, run_suite

UNKNOWN_KEY_RULES = ("auth.unknown-key-401",)


def test_unknown_key_tests_skip_against_a_mock_that_accepts_any_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Six tests send an unknown key; none fails, each skips saying the mock takes any key."""
    with broken_mock(keys=()) as base_url:
        code, outcomes = run_suite(base_url, "-k", "unknown_key or first_applicable")
    assert code == 0, "\n\n".join(outcomes.failures)
    assert outcomes.report is not None
    states = outcomes.report.states
    for rule in UNKNOWN_KEY_RULES:
        assert states[rule].outcome is Outcome.SKIPPED
        assert any('keys "any"' in detail for detail in states[rule].details)
    # The precedence cases without a key still run and pass.
    assert states["precedence.auth-before-body"].outcome is Outcome.CHECKED
    report = capsys.readouterr().out.partition("apixo contract rules")[2]
    assert "auth.unknown-key-401" in report
    assert "precedence.auth-before-body" not in report  # -q: only failures and skips
