"""How many one-rule breakages the whole suite catches on a target without admin API.

Not a test (it takes about 15 minutes): `.venv/bin/python -m tests.suite.breakage_table`
runs the full contract suite once per broken variant of tests/suite (each
served by `keyed_mock`: admin API off, the limit and low-balance keys given)
and prints a Markdown table: the rule the variant breaks, whether the run
failed on it, every rule it failed, and the dialects it reported. A dialect
variant runs twice, the second time with --apixo-strict. Names given on the
command line run only those variants.
"""

from __future__ import annotations

import sys
from typing import Any

from tests.suite import test_broken_targets as broken
from tests.suite import test_dialects as dialects
from tests.suite import test_limit_keys as limits
from tests.suite.harness import Before, MakeRewrite, Rewrite, keyed_mock, run_suite
from tests.suite.test_dialects import VIOLATION

ARGS = (
    *limits.POLLING,
    *limits.LIMIT_OPTIONS,
    *VIOLATION,
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",  # this process imported the harness first
)
Variant = tuple[MakeRewrite | None, Before | None, dict[str, Any], str]


def _fixed(rewrite: Rewrite) -> MakeRewrite:
    return lambda server: rewrite


def variants() -> dict[str, Variant]:
    """Every one-rule broken variant of tests/suite, by name."""
    table: dict[str, Variant] = {"unbroken": (None, None, {}, "-")}
    for name, (rewrite, before, _, rule) in broken.CASES.items():
        table[name] = (_fixed(rewrite) if rewrite else None, before, {}, rule)
    for name, (settings, _, rule) in broken.DIALECTS.items():
        table[f"dialect {name}"] = (None, None, settings, rule)
    table["rate-far-below-10000"] = (None, None, {"rpm": 12}, "limits.requests-per-minute-429")
    table["cap-far-below-1000"] = (None, None, {"max_unfinished": 2}, "limits.unfinished-tasks-429")
    for name, (make, settings, _, rule) in limits.BROKEN.items():
        table[name] = (make, None, settings, rule)
    for name, (before, settings, _, rule, _, _) in dialects.VARIANTS.items():
        if name != "no-nvariants":  # the same as broken.DIALECTS' no-nvariants-alias
            table[f"dialect {name}"] = (None, before, settings, rule)
    return table


def row(name: str, variant: Variant, strict: bool) -> str:
    """Run the whole suite against one variant; its table row."""
    make, before, settings, rule = variant
    with keyed_mock(make, before=before, **settings) as base_url:
        code, outcomes = run_suite(base_url, *ARGS, *(["--apixo-strict"] if strict else []))
    failed = sorted(outcomes.failed_rules())
    spoken = outcomes.report.dialects if outcomes.report is not None else {}
    caught = "yes" if rule in failed else ("reported" if spoken else "no")
    label = f"{name} --apixo-strict" if strict else name
    cells = (label, f"`{rule}`", str(int(code)), caught, ", ".join(failed) or "-", spoken or "-")
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def main(names: list[str]) -> None:
    """Print the table for the variants named (all by default)."""
    print("| variant | rule | exit | caught | failed rules | dialects |")
    print("|---|---|---|---|---|---|")
    for name, variant in variants().items():
        if names and name not in names:
            continue
        for strict in (False, True) if name.startswith("dialect") else (False,):
            print(row(name, variant, strict), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
