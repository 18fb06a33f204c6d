"""The end-of-run summary: every rule, with the worst news about it."""

from __future__ import annotations

from contract_tests.report import Outcome, RuleReport
from contract_tests.rules import RULES


def test_failure_wins_over_checked_and_skipped() -> None:
    """One failing test is enough to call a rule failed."""
    report = RuleReport()
    report.skipped(["auth.missing-key-401"], "no key")
    report.checked(["auth.missing-key-401"], "t1")
    report.failed("auth.missing-key-401", "t2", "auth.missing-key-401: got 200\nmore")
    report.checked(["auth.missing-key-401"], "t3")
    state = report.states["auth.missing-key-401"]
    assert state.outcome is Outcome.FAILED
    assert state.details == ["t2: auth.missing-key-401: got 200"]


def test_summary_lists_every_rule_with_its_outcome() -> None:
    """One line per rule of the table; reasons under skipped and never-run rules."""
    report = RuleReport()
    report.target_lines = ["target: test"]
    report.checked(["envelope.json"], "t")
    report.skipped(["balance.refund"], "needs the violation prompt")
    report.note("ratelimit.retry-after", "429 without Retry-After")
    lines = report.lines()
    assert lines[0] == "target: test"
    assert "1 checked" in lines[1]
    for rule in RULES:
        assert any(rule.id in line for line in lines)
    assert any("- needs the violation prompt" in line for line in lines)
    assert any("note: 429 without Retry-After" in line for line in lines)


def test_unused_report_stays_quiet() -> None:
    """A session that touched no rule prints no summary."""
    assert not RuleReport().used


def test_quiet_summary_lists_only_failures_and_skips_under_one_total() -> None:
    """pytest -q: the total, then the failed and skipped rules with their reasons."""
    report = RuleReport()
    report.target_lines = ["target: test"]
    report.checked(["envelope.json"], "t")
    report.failed("envelope.code-equals-status", "t2", "envelope.code-equals-status: 201")
    report.skipped(["balance.refund"], "needs the violation prompt")
    lines = report.lines(brief=True)
    assert lines[0].startswith(f"{len(RULES)} contract rules: 1 failed, 1 checked")
    listed = [line.split()[1] for line in lines[1:] if not line.startswith(" ")]
    assert listed == ["envelope.code-equals-status", "balance.refund"]
    assert any("- needs the violation prompt" in line for line in lines)


def test_workers_reports_merge_into_one_with_the_worse_news_per_rule() -> None:
    # pytest-xdist: each worker hands its report over as data; the controller merges them.
    first, second = RuleReport(), RuleReport()
    a, b, c = (rule.id for rule in RULES[:3])
    first.checked([a, b], "t1")
    first.note(a, "a 429 without Retry-After")
    first.target_lines = ["target: in-process mock"]
    second.failed(b, "t2", "broken\nmore")
    second.skipped([c], "needs a limit key")
    second.spoke("nvariants", "accepted")
    merged = RuleReport()
    for worker in (first, second):
        merged.merge(worker.to_data())
    assert [merged.states[rule].outcome for rule in (a, b, c)] == [
        Outcome.CHECKED,
        Outcome.FAILED,
        Outcome.SKIPPED,
    ]
    assert merged.states[b].details == ["t2: broken"]
    assert merged.states[c].details == ["needs a limit key"]
    assert merged.states[a].notes == ["a 429 without Retry-After"]
    assert merged.target_lines == ["target: in-process mock"]
    assert merged.dialects == {"nvariants": "accepted"}
    assert merged.lines() == RuleReport.lines(_replayed(first, second))


def _replayed(first: RuleReport, second: RuleReport) -> RuleReport:
    """What one process running both workers' tests would have reported."""
    one = RuleReport()
    a, b, c = (rule.id for rule in RULES[:3])
    one.checked([a, b], "t1")
    one.note(a, "a 429 without Retry-After")
    one.target_lines = list(first.target_lines)
    one.failed(b, "t2", "broken\nmore")
    one.skipped([c], "needs a limit key")
    one.dialects.update(second.dialects)
    return one
