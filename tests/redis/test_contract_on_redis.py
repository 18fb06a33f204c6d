"""The whole contract suite against the mock on Redis: one process, two workers, two processes.

With two processes the suite's second key speaks to the other one
(`--apixo-other-base-url`), while the admin API (clock, scenarios) is
reached through the first: every rule then holds only if the processes
share tasks, clock, money and limits.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from contract_tests.report import Outcome
from tests.e2e.test_serve_process import served
from tests.suite.harness import run_suite
from tests.suite.test_no_admin_target import FAST_POLLING, VIOLATION

SERVE = ("--keys", "K1,K2", "--no-access-log")


@pytest.mark.parametrize(
    ("processes", "workers"), [(1, 1), (1, 2), (2, 1)], ids=["one", "workers-2", "processes-2"]
)
def test_the_contract_suite_passes_on_redis(redis_url: str, processes: int, workers: int) -> None:
    flags = (*SERVE, "--store", redis_url, "--workers", str(workers))
    with ExitStack() as stack:
        mocks = [stack.enter_context(served("granian", *flags)) for _ in range(processes)]
        split = ("--apixo-other-base-url", mocks[-1].base) if processes > 1 else ()
        code, outcomes = run_suite(mocks[0].base, *FAST_POLLING, *VIOLATION, *split)
    assert code == 0, "\n\n".join(outcomes.failures)
    assert outcomes.report is not None
    # Every rule is checked, but those gpt-image-1 checks with its own tables (the
    # pack-driven form of them skips for it, saying so).
    unchecked = {
        rule: state.details
        for rule, state in outcomes.report.states.items()
        if state.outcome is not Outcome.CHECKED
    }
    own_tables = "checks this rule with its own tables"
    assert all(any(own_tables in d for d in details) for details in unchecked.values()), unchecked
