"""The end-of-run account: every rule of docs/contract.md, checked, failed, skipped or unused.

Tests declare rules with `@pytest.mark.rule(...)`; a failure raised as a
`ContractViolation` names its rule even when the test did not declare it (the
client checks every envelope), so the summary can say which rule broke.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType
from typing import Any

from .rules import RULES, Rule


class Outcome(IntEnum):
    """What happened to a rule; a higher value wins over a lower one."""

    NOT_RUN = 0
    SKIPPED = 1
    NOT_REACHED = 2
    CHECKED = 3
    FAILED = 4


_LABELS = MappingProxyType(
    {
        Outcome.NOT_RUN: "not run",
        Outcome.SKIPPED: "skipped",
        Outcome.NOT_REACHED: "not reached",
        Outcome.CHECKED: "checked",
        Outcome.FAILED: "FAILED",
    }
)


@dataclass(slots=True)
class RuleState:
    """The outcome of one rule so far, with the reasons or failures behind it."""

    outcome: Outcome = Outcome.NOT_RUN
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def record(self, outcome: Outcome, detail: str) -> None:
        """Raise the outcome to `outcome` if it is worse news, and keep the detail."""
        if outcome > self.outcome:
            self.outcome, self.details = outcome, []
        if outcome == self.outcome and detail and detail not in self.details:
            self.details.append(detail)


class RuleReport:
    """Outcomes for every rule of the table, collected during one pytest session."""

    def __init__(self, rules: Iterable[Rule] = RULES) -> None:
        self.rules = tuple(rules)
        self.states = {rule.id: RuleState() for rule in self.rules}
        self.target_lines: list[str] = []
        self.dialects: dict[str, str] = {}

    def spoke(self, dialect: str, reading: str) -> None:
        """The target answered in another reading of the docs (see dialects.py)."""
        self.dialects[dialect] = reading

    def checked(self, rule_ids: Iterable[str], test_id: str) -> None:
        """A test that checks these rules passed."""
        for rule_id in rule_ids:
            self.states[rule_id].record(Outcome.CHECKED, "")

    def failed(self, rule_id: str, test_id: str, message: str) -> None:
        """A test found this rule broken."""
        first_line = message.strip().splitlines()[0] if message.strip() else ""
        self.states[rule_id].record(Outcome.FAILED, f"{test_id}: {first_line[:300]}")

    def skipped(self, rule_ids: Iterable[str], reason: str) -> None:
        """A test of these rules was skipped, for `reason`."""
        for rule_id in rule_ids:
            self.states[rule_id].record(Outcome.SKIPPED, reason)

    def not_reached(self, rule_ids: Iterable[str], test_id: str) -> None:
        """A test of these rules failed on something else first."""
        for rule_id in rule_ids:
            self.states[rule_id].record(Outcome.NOT_REACHED, f"{test_id} failed first")

    def note(self, rule_id: str, text: str) -> None:
        """Something worth reporting that is not a failure (e.g. a 429 without Retry-After)."""
        notes = self.states[rule_id].notes
        if text not in notes and len(notes) < 5:
            notes.append(text)

    def to_data(self) -> dict[str, Any]:
        """The report as plain data, for a pytest-xdist worker to hand its controller."""
        states = {
            rule_id: [int(state.outcome), list(state.details), list(state.notes)]
            for rule_id, state in self.states.items()
            if state.outcome or state.notes
        }
        return {"states": states, "targets": self.target_lines, "dialects": self.dialects}

    def merge(self, data: Mapping[str, Any]) -> None:
        """Add a worker's report (`to_data`): each rule ends with the worse news of the two."""
        for rule_id, (outcome, details, notes) in data.get("states", {}).items():
            state = self.states[rule_id]
            for detail in details or [""]:
                state.record(Outcome(outcome), detail)
            for text in notes:
                self.note(rule_id, text)
        self.target_lines = self.target_lines or list(data.get("targets", []))
        self.dialects.update(data.get("dialects", {}))

    @property
    def used(self) -> bool:
        """Whether any rule was touched in this session."""
        touched = any(state.outcome or state.notes for state in self.states.values())
        return touched or bool(self.dialects)

    def count(self, outcome: Outcome) -> int:
        """How many rules ended with `outcome`."""
        return sum(1 for state in self.states.values() if state.outcome == outcome)

    def lines(self, brief: bool = False) -> list[str]:
        """The summary, one rule a line, details indented below.

        `brief` (pytest -q): the one-line total, then only the rules that failed
        or were skipped, since those are what a quiet run is read for.
        """
        width = max(len(rule.id) for rule in self.rules)
        out = [self._totals()] if brief else [*self.target_lines, self._totals()]
        out.extend(f"dialect {name}: {reading}" for name, reading in self.dialects.items())
        for rule in self.rules:
            state = self.states[rule.id]
            if brief and state.outcome not in (Outcome.FAILED, Outcome.SKIPPED):
                continue
            label = _LABELS[state.outcome]
            out.append(f"{label:<11} {rule.id:<{width}}  [{rule.section}] {rule.text}")
            out.extend(f"{'':<12}- {detail}" for detail in self._details(rule, state))
            out.extend(f"{'':<12}note: {note}" for note in state.notes)
        return out

    def _totals(self) -> str:
        parts = [f"{self.count(o)} {_LABELS[o].lower()}" for o in sorted(Outcome, reverse=True)]
        return f"{len(self.rules)} contract rules: " + ", ".join(parts)

    @staticmethod
    def _details(rule: Rule, state: RuleState) -> list[str]:
        if state.outcome == Outcome.NOT_RUN:
            return [rule.unchecked or "no selected test checks it in this run"]
        return state.details[:3]
