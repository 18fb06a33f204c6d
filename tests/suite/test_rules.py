"""The rule table: ids are unique and well formed, and every rule is checked by some test."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from contract_tests import rules
from contract_tests.plugin import declared_rules
from tests.suite.harness import SUITE

ID = re.compile(r"^[a-z]+\.[a-z0-9-]+$")
SECTIONS = (
    "Endpoints",
    "Envelope",
    "Submit request",
    "Status response",
    "Balance",
    "Which error wins",
    "Docs versions that disagree on input names",
    "Failure codes",
    "Other HTTP errors",
    "Callbacks",
    "Timing and results",
)


def test_ids_are_unique_and_well_formed() -> None:
    """`area.what-it-says`, once each."""
    ids = rules.rule_ids()
    assert len(ids) == len(set(ids))
    assert all(ID.match(rule_id) for rule_id in ids), [i for i in ids if not ID.match(i)]


def test_every_rule_names_a_section_of_the_contract() -> None:
    """Sections are docs/contract.md's headings."""
    assert {rule.section for rule in rules.RULES} <= set(SECTIONS)


def test_unknown_id_is_an_error() -> None:
    """A typo in a rule id fails loudly."""
    with pytest.raises(KeyError, match="no-such"):
        rules.get("auth.no-such-rule")


@dataclass
class Declared:
    """A plugin for a collect-only run: every rule the collected tests declare."""

    rules: set[str] = field(default_factory=set)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Read the rule markers, parametrized cases included."""
        for item in items:
            self.rules.update(declared_rules(item))


def test_every_rule_is_checked_by_some_test() -> None:
    """No rule of the table is left without a test (unknown ids fail collection)."""
    found = Declared()
    code = pytest.main([str(SUITE), "--collect-only", "-q", "-p", "no:cacheprovider"], [found])
    assert code == pytest.ExitCode.OK
    assert set(rules.rule_ids()) - found.rules == set()
