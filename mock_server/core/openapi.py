"""Builds the OpenAPI document from schemas/openapi.yaml and the schema files it refers to.

The bundled form inlines every schema file under `components/schemas` and
rewrites each `$ref` to point there, so tools that cannot follow external
references (Schemathesis, Prism) load it from one URL.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from .schemas import load_schemas, schema_dir

_FILE_REF = re.compile(r"^([a-z0-9-]+)\.schema\.json$")


def component_name(file_name: str) -> str:
    """`submit-request.schema.json` -> `SubmitRequest`."""
    stem = file_name.removesuffix(".schema.json")
    return "".join(part.capitalize() for part in stem.split("-"))


def source_document() -> dict[str, Any]:
    """schemas/openapi.yaml as written (its `$ref`s name schema files)."""
    document: dict[str, Any] = yaml.safe_load((schema_dir() / "openapi.yaml").read_text("utf-8"))
    return document


def bundled_document(server_url: str | None = None, *, admin: bool = True) -> dict[str, Any]:
    """One self-contained OpenAPI 3.1 document; without admin paths when `admin` is False."""
    document: dict[str, Any] = _rewrite(copy.deepcopy(source_document()))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for file_name, content in load_schemas().items():
        body = {k: v for k, v in content.items() if k not in ("$id", "$schema")}
        schemas[component_name(file_name)] = _rewrite(copy.deepcopy(body))
    if not admin:
        paths = document["paths"]
        document["paths"] = {p: v for p, v in paths.items() if not p.startswith("/__admin")}
        document["tags"] = [t for t in document.get("tags", []) if t["name"] != "admin"]
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


def _rewrite(node: Any) -> Any:
    """Point every file `$ref` at its component."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and _FILE_REF.match(ref):
            node["$ref"] = f"#/components/schemas/{component_name(ref)}"
        for value in node.values():
            _rewrite(value)
    elif isinstance(node, list):
        for item in node:
            _rewrite(item)
    return node
