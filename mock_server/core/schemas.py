"""Loads the JSON Schema files of schemas/ and compiles validators from them.

schemas/ is the single source of truth: the server validates requests with
these validators, the contract suite checks responses with them, and the
OpenAPI document is assembled from the same files.

JSON Schema counts a whole-number float such as `2.0` as an `integer`; the
mock does not. A count, an index or a time in ms written `2.0` is a client
bug (and `2.0` as an index or a timestamp breaks the mock's own arithmetic
and its integer-only responses), so every validator built here reads
`integer` as a JSON integer literal: a Python `int` that is not a `bool`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, TypeChecker
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_BASE = "https://apixo-mock.invalid/schemas/"
_PACKAGE = Path(__file__).resolve().parent.parent


def _is_strict_integer(checker: TypeChecker, instance: object) -> bool:
    """An integer literal only: `2` is one, `2.0` and `True` are not."""
    return isinstance(instance, int) and not isinstance(instance, bool)


# 2020-12 in every respect but that `integer` takes no floats (see the module docstring).
# A class, built once like the compiled regexes; `extend` has no annotations, hence the ignore.
StrictValidator = extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_strict_integer),
)


def data_dir(name: str) -> Path:
    """A shipped data folder: inside the wheel (`_data/`) or, in a checkout, at the top level."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent / ("fixtures/scenarios" if name == "scenarios" else name)
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"apixo-mock data folder {name!r} is missing from the installation")


def schema_dir() -> Path:
    """Where the schema files live."""
    return data_dir("schemas")


@cache
def load_schemas() -> dict[str, dict[str, Any]]:
    """Every `*.schema.json` by file name; read once, never modified."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(schema_dir().glob("*.schema.json"))
    }


@cache
def registry() -> Registry[Any]:
    """A referencing registry holding every schema under its `$id`, so no `$ref` goes online.

    The copies in it have no `$schema`: jsonschema picks the validator class
    of a `$ref` target by its `$schema`, which would swap the strict validator
    for the stock 2020-12 one there (python-jsonschema issue 994).
    """
    resources = [
        (
            schema["$id"],
            Resource.from_contents(_without_dialect(schema), default_specification=DRAFT202012),
        )
        for schema in load_schemas().values()
    ]
    return Registry().with_resources(resources)


def _without_dialect(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "$schema"}


def schema(name: str) -> dict[str, Any]:
    """One schema by short name, e.g. `schema("submit-request")`."""
    return load_schemas()[f"{name}.schema.json"]


def validator(name: str) -> Validator:
    """A strict 2020-12 validator for one schema, with every `$ref` resolvable offline."""
    return validator_for(schema(name))


def validator_for(document: dict[str, Any]) -> Validator:
    """A strict 2020-12 validator for any schema document, resolving `$ref`s among the files."""
    made: Validator = StrictValidator(document, registry=registry(), format_checker=_formats())
    return made


def _formats() -> FormatChecker:
    """The one format checked: `regex`, as a pattern Python's `re` compiles (rules use `re`)."""
    checker = FormatChecker(formats=())
    # A repeat count past 2**32 overflows and deep nesting recurses too far: not patterns either.
    checker.checks("regex", raises=(re.error, OverflowError, RecursionError))(_compiles)
    return checker


def _compiles(instance: object) -> bool:
    return not isinstance(instance, str) or bool(re.compile(instance))
