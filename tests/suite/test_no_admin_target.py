"""The whole suite passes against the mock served without admin API: real-API mode."""

from __future__ import annotations

from contract_tests.report import Outcome
from contract_tests.rule_index import PACKS, scope
from tests.suite.harness import run_suite, served_mock

FAST_POLLING = (
    "--apixo-poll-initial",
    "0.05",
    "--apixo-poll-interval",
    "0.1",
    "--apixo-task-timeout",
    "30",
)
VIOLATION = ("--apixo-violation-prompt", "a street at night, mock:fail:CONTENT_VIOLATION")


def test_suite_passes_against_mock_served_with_no_admin() -> None:
    """`serve --no-admin --keys K1,K2 --profile instant`: admin-only tests skip, the rest pass."""
    flags = ("--no-admin", "--keys", "K1,K2", "--profile", "instant", "--no-access-log")
    with served_mock(*flags) as base_url:
        code, outcomes = run_suite(
            base_url, *FAST_POLLING, *VIOLATION, "--apixo-task-timeout", "30"
        )
    assert code == 0, "\n\n".join(outcomes.failures)
    assert outcomes.report is not None
    states = outcomes.report.states
    skipped = {rule for rule, state in states.items() if state.outcome is Outcome.SKIPPED}
    # Rules read off another model's pack are not gpt-image-1's: they skip, saying so.
    not_for_the_model = {rule for rule in skipped if scope(rule) == PACKS}
    assert all(
        "admin API" in " ".join(states[rule].details) for rule in skipped - not_for_the_model
    )
    assert all("own tables" in " ".join(states[rule].details) for rule in not_for_the_model)
    assert states["status.states-forward"].outcome is Outcome.CHECKED
    assert states["callbacks.same-envelope"].outcome is Outcome.CHECKED
