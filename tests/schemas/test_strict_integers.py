"""Integers are integers: every integer field of a request schema refuses a whole-number float.

JSON Schema counts `2.0` as an integer; the mock's validators do not (issue 9).
The integer fields are found by walking the schemas, and each body below must
hold an integer at every one of them, so a new integer field is covered (or
this test fails until its example gains it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema.exceptions import best_match

from mock_server.core.schemas import load_schemas, schema, validator

Path = tuple[str | int, ...]

RULE: dict[str, Any] = {
    "name": "every-integer",
    "times": 3,
    "when": {"num_images": 2, "every_nth": 2, "probability": 0.5},
    "then": {
        "fail": {"code": "GENERATION_FAILED", "after_ms": 10},
        "timeline": {"pending_ms": 1, "processing_ms": 2},
        "reject": {"status": 503},
        "latency_ms": 5,
        "callback": {"copies": 2, "delay_ms": 7},
    },
}
SCENARIO: dict[str, Any] = {
    "name": "every-integer",
    "settings": {
        "rpm": 60,
        "max_unfinished": 5,
        "pending_ms": 0,
        "processing_min_ms": 1,
        "processing_max_ms": 2,
        "balance": "10.5",
        "price_per_image": "0.35",
        "insufficient_credits_status": 402,
    },
    "rules": [RULE],
}

# A valid body of every request schema, holding an integer at each integer field.
BODIES: dict[str, Any] = {
    "scenario": SCENARIO,
    "scenario-rule": RULE,
    "submit-request": {
        "input": {"mode": "gpt-image-1", "prompt": "a fox", "num_images": 2, "nVariants": 2}
    },
    "admin-clock-change": {"ms": 1500},
    "admin-rule-add": {"rule": RULE, "index": 0},
    "admin-scenario-load": {"scenario": SCENARIO},
    "admin-account-update": {"balance": "5", "rpm": 10, "maxUnfinished": 2},
    "admin-task-force": {"state": "failed", "failCode": "GENERATION_FAILED", "failMsg": "no"},
    "admin-task-fail": {"failCode": "GENERATION_FAILED"},
}
# What the mock answers with (its own output, checked by the tests of each endpoint).
RESPONSES = {"admin-account", "admin-clock", "admin-journal-entry", "admin-task"}


def integer_fields(node: Any, path: Path = ()) -> set[Path]:
    """Where a schema wants an integer (type integer, or an enum of integers); `*` = any item."""
    if "$ref" in node:
        node = schema(str(node["$ref"]).removesuffix(".schema.json"))
    found: set[Path] = set()
    types = node.get("type", [])
    enum = node.get("enum", [])
    if "integer" in types or (enum and all(_is_int(value) for value in enum)):
        found.add(path)
    for name, sub in node.get("properties", {}).items():
        found |= integer_fields(sub, (*path, name))
    if "items" in node:
        found |= integer_fields(node["items"], (*path, "*"))
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in node.get(key, []):
            found |= integer_fields(sub, path)
    if "then" in node:
        found |= integer_fields(node["then"], path)
    return found


def integers_in(document: Any, path: Path = ()) -> Iterator[Path]:
    """The concrete path of every integer in a document."""
    if _is_int(document):
        yield path
    elif isinstance(document, dict):
        for key, value in document.items():
            yield from integers_in(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from integers_in(value, (*path, index))


def general(path: Path) -> Path:
    return tuple("*" if isinstance(part, int) else part for part in path)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def with_float_at(document: Any, path: Path) -> Any:
    changed = copy.deepcopy(document)
    target = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = float(target[path[-1]])
    return changed


CASES = [
    pytest.param(name, path, id=f"{name}:{'.'.join(map(str, path))}")
    for name, body in BODIES.items()
    for path in integers_in(body)
]


def test_every_admin_schema_is_a_body_or_a_response() -> None:
    admin = {name.removesuffix(".schema.json") for name in load_schemas() if "admin-" in name}
    assert admin == (set(BODIES) | RESPONSES) - {"scenario", "scenario-rule", "submit-request"}


@pytest.mark.parametrize("name", list(BODIES))
def test_each_body_is_valid_and_holds_every_integer_field(name: str) -> None:
    body = BODIES[name]
    validator(name).validate(body)
    assert {general(path) for path in integers_in(body)} == integer_fields(schema(name))


@pytest.mark.parametrize(("name", "path"), CASES)
def test_whole_number_float_is_refused_naming_the_field(name: str, path: Path) -> None:
    error = best_match(validator(name).iter_errors(with_float_at(BODIES[name], path)))
    assert error is not None
    assert tuple(error.absolute_path) == path
    assert error.validator == "type"


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_integers(value: bool) -> None:
    assert not validator("admin-clock-change").is_valid({"ms": value})
