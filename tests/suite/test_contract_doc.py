"""docs/contract.md is the project's own contract, and the suite's rule table matches it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contract_tests import rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "contract.md"


def document() -> str:
    """docs/contract.md as it is in the checkout."""
    return DOC.read_text(encoding="utf-8")


def test_rule_index_is_current() -> None:
    """The generated rule index equals what rules.py would write now."""
    text = document()
    assert rules.with_index(text) == text, (
        "regenerate: python -m contract_tests.rules docs/contract.md"
    )


def test_every_rule_section_is_a_section_of_the_contract() -> None:
    """Each rule's section is a `##` heading of the prose, in the order of SECTIONS."""
    headings = re.findall(r"^## (.+)$", document(), flags=re.MULTILINE)
    assert [h for h in headings if h in rules.SECTIONS] == list(rules.SECTIONS)
    assert {rule.section for rule in rules.RULES} <= set(rules.SECTIONS)


def test_every_rule_id_is_listed_with_its_text_under_its_section() -> None:
    """Not only in the index: each row sits under the `###` heading of its section."""
    index = document().partition(rules.INDEX_START)[2]
    blocks = dict(re.findall(r"^### (.+?)\n(.*?)(?=^### |\Z)", index, flags=re.M | re.S))
    for rule in rules.RULES:
        assert f"| `{rule.id}` | {rule.text}" in blocks.get(rule.section, ""), rule.id


def test_index_markers_are_required() -> None:
    """Regenerating a document that lost its markers fails rather than dropping the index."""
    with pytest.raises(ValueError, match="markers"):
        rules.with_index("# no index here\n")
