"""The suite keeps the house rules: no module-level mutable state, small modules and functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[2] / "contract_tests"
MUTABLE_CALLS = {"dict", "list", "set", "deque", "defaultdict", "OrderedDict", "Counter"}
MUTABLE_NODES = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
MODULES = sorted(SUITE.glob("*.py"))


def module_level_mutables(path: Path) -> list[int]:
    """Lines where a module binds a dict, list or set at import time."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        called = (
            value.func.id
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            else ""
        )
        if isinstance(value, MUTABLE_NODES) or called in MUTABLE_CALLS:
            found.append(node.lineno)
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_module_level_mutable_state(path: Path) -> None:
    """Module level holds constants and frozen tables only."""
    assert module_level_mutables(path) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_modules_and_functions_stay_small(path: Path) -> None:
    """Modules of one concept (under 400 lines), functions under 40 lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert len(path.read_text(encoding="utf-8").splitlines()) < 400
    functions = [
        n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    long = [
        f"{f.name}: {f.end_lineno - f.lineno + 1}"
        for f in functions
        if f.end_lineno and f.end_lineno - f.lineno >= 40
    ]
    assert long == []
