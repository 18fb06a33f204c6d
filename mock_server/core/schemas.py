"""Loads the JSON Schema files of schemas/ and compiles validators from them.

schemas/ is the single source of truth: the server validates requests with
these validators, the contract suite checks responses with them, and the
OpenAPI document is assembled from the same files.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_BASE = "https://apixo-mock.invalid/schemas/"
_PACKAGE = Path(__file__).resolve().parent.parent


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
    """A referencing registry holding every schema under its `$id`, so no `$ref` goes online."""
    resources = [
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in load_schemas().values()
    ]
    return Registry().with_resources(resources)


def schema(name: str) -> dict[str, Any]:
    """One schema by short name, e.g. `schema("submit-request")`."""
    return load_schemas()[f"{name}.schema.json"]


def validator(name: str) -> Draft202012Validator:
    """A compiled 2020-12 validator for one schema, with every `$ref` resolvable offline."""
    return Draft202012Validator(schema(name), registry=registry())


def validator_for(document: dict[str, Any]) -> Draft202012Validator:
    """A 2020-12 validator for any schema document, resolving `$ref`s among the files."""
    return Draft202012Validator(document, registry=registry())
