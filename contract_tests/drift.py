"""Fields a target sends that the schemas do not declare: drift, reported, never assumed.

The response schemas tolerate extra fields, as a real service may add some.
This module names them (`data.newField`), so the summary can report them and
`--apixo-strict` can fail on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from mock_server.core import schemas as source

from .client import BALANCE_PATH, ApiResponse

# Every model's submit and status answers have the same shape: keyed by the path without it.
_SUCCESS_SCHEMAS: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("POST", "/api/v1/generateTask"): "submit-response",
        ("GET", "/api/v1/statusTask"): "status-response",
        ("GET", BALANCE_PATH): "balance-response",
    }
)


def schema_for(answer: ApiResponse) -> str | None:
    """Which schema an answer of the public API should match, or None if none applies."""
    path = urlsplit(answer.url).path
    if answer.status == 200:
        model_free = path if path == BALANCE_PATH else path.rsplit("/", 1)[0]
        return _SUCCESS_SCHEMAS.get((answer.method, model_free))
    return "error-envelope" if 400 <= answer.status < 600 else None


def unknown_fields(answer: ApiResponse) -> list[str]:
    """Paths of the answer's fields that its schema does not declare (empty if not JSON)."""
    name = schema_for(answer)
    if name is None:
        return []
    try:
        body = json.loads(answer.text)
    except ValueError:
        return []
    return undeclared(source.schema(name), body, "")


def undeclared(schema: Any, instance: Any, where: str) -> list[str]:
    """Keys of `instance` (recursively) that no `properties` of `schema` declares."""
    if not isinstance(instance, dict) or not isinstance(schema, dict):
        return []
    properties = declared(schema, instance)
    if properties is None:
        return []
    found: list[str] = []
    for key, value in instance.items():
        path = f"{where}.{key}" if where else key
        if key not in properties:
            found.append(path)
        else:
            found += undeclared(properties[key], value, path)
    return found


def declared(schema: dict[str, Any], instance: Any) -> dict[str, Any] | None:
    """The properties a schema declares for this instance (None: it says nothing about them)."""
    schema = _resolve(schema)
    merged: dict[str, Any] = {}
    said = "properties" in schema
    for part in schema.get("allOf", []):
        more = declared(part, instance)
        if more is not None:
            said = True
            merged.update(more)
    for part in schema.get("oneOf", []):
        resolved = _resolve(part)
        if source.validator_for(resolved).is_valid(instance):
            more = declared(resolved, instance)
            if more is not None:
                said = True
                merged.update(more)
            break
    merged.update(schema.get("properties", {}))
    return merged if said else None


def _resolve(schema: Any) -> dict[str, Any]:
    if isinstance(schema, dict) and "$ref" in schema:
        ref = str(schema["$ref"]).rsplit("/", 1)[-1].removesuffix(".schema.json")
        return source.schema(ref)
    return schema if isinstance(schema, dict) else {}
