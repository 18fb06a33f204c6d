"""The rule index of docs/contract.md, generated from the rule table (contract_tests/rules.py).

One table per section, in the document's order, with the models each rule is
checked for. `python -m contract_tests.rules docs/contract.md` (or this
module) rewrites the index between its markers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .rules import INDEX_END, INDEX_START, RULES, SECTIONS, Rule

# Rules stated for gpt-image-1's own inputs; every other model's come from its pack.
GPT_IMAGE_1 = "gpt-image-1"
PACKS = "every model but gpt-image-1 (whose fields have the rules above)"
EVERY_MODEL = "every model"
_GPT_IMAGE_1_RULES = frozenset(
    {
        "submit.prompt-400",
        "submit.aspect-ratio-400",
        "submit.num-images-400",
        "submit.image-urls-400",
        "alias.nvariants",
        "alias.nvariants-conflict-400",
        "alias.is-enhance-accepted",
        "alias.is-enhance-type-400",
    }
)
_PACK_RULES = frozenset({"submit.schema-400", "results.format", "results.duration"})


def scope(rule_id: str) -> str:
    """Which models --apixo-model checks the rule for: every model, gpt-image-1, or every
    model but gpt-image-1 (the rule read off a model's pack)."""
    if rule_id in _GPT_IMAGE_1_RULES:
        return GPT_IMAGE_1
    return PACKS if rule_id in _PACK_RULES else EVERY_MODEL


def reference_table() -> str:
    """The rule index of docs/contract.md: one table per section, in the document's order."""
    parts = []
    head = ["| id | rule | checked for |", "|---|---|---|"]
    for section in SECTIONS:
        rows = [_row(rule) for rule in RULES if rule.section == section]
        if rows:
            parts.append("\n".join([f"### {section}", "", *head, *rows]))
    return "\n\n".join(parts) + "\n"


def _row(rule: Rule) -> str:
    text = rule.text
    if rule.unchecked:
        text += f" (Only {rule.unchecked}.)"
    return f"| `{rule.id}` | {text.replace('|', chr(92) + '|')} | {scope(rule.id)} |"


def with_index(document: str) -> str:
    """`document` with the text between the index markers replaced by `reference_table()`."""
    head, start, rest = document.partition(INDEX_START)
    _, end, tail = rest.partition(INDEX_END)
    if not (start and end):
        raise ValueError(f"the document lacks the markers {INDEX_START!r} ... {INDEX_END!r}")
    return f"{head}{start}\n\n{reference_table()}\n{end}{tail}"


def main(argv: list[str]) -> int:
    """Print the rule index, or rewrite it inside the Markdown files given."""
    if not argv:
        sys.stdout.write(reference_table())
    for name in argv:
        path = Path(name)
        path.write_text(with_index(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
