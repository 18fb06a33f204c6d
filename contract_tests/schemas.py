"""The schemas of schemas/ as the suite uses them: 2020-12 validators and a draft-07 copy.

The suite reads the very files the mock validates with (through the mock's
loader, which needs no Flask). hypothesis-jsonschema understands drafts
04/06/07 only, so `draft07(name)` gives it a bundled, self-contained copy:
every `$ref` inlined, `$id` dropped, `$schema` set to draft-07. A property
test in tests/suite/ checks that what it generates passes the 2020-12 validator.
"""

from __future__ import annotations

import copy
from typing import Any

from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator

from mock_server.core import schemas as source

DRAFT07 = "http://json-schema.org/draft-07/schema#"


def validator(name: str) -> Validator:
    """The mock's strict 2020-12 validator for one schema of schemas/, by short name."""
    return source.validator(name)


def first_error(name: str, instance: Any) -> ValidationError | None:
    """The most relevant reason `instance` breaks schema `name`, or None if it is valid."""
    error: ValidationError | None = best_match(validator(name).iter_errors(instance))
    return error


def describe(error: ValidationError) -> str:
    """A one-line account of a validation error: where, then why."""
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    return f"at {where}: {error.message}"


def draft07(name: str) -> dict[str, Any]:
    """A self-contained draft-07 copy of schema `name`, for hypothesis-jsonschema."""
    bundled: dict[str, Any] = _inline(copy.deepcopy(source.schema(name)))
    bundled.pop("$id", None)
    bundled["$schema"] = DRAFT07
    return bundled


def _inline(node: Any) -> Any:
    """Replace every `$ref` by a copy of the schema it names (the files have no cycles)."""
    if isinstance(node, list):
        return [_inline(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _inline(copy.deepcopy(source.schema(_short_name(node["$ref"]))))
        target.pop("$id", None)
        target.pop("$schema", None)
        return {**target, **{k: _inline(v) for k, v in node.items() if k != "$ref"}}
    return {key: _inline(value) for key, value in node.items()}


def _short_name(ref: str) -> str:
    """`task-success.schema.json` (or its absolute `$id`) -> `task-success`."""
    return ref.rsplit("/", 1)[-1].removesuffix(".schema.json")
