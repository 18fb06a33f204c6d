"""Builds the OpenAPI document from schemas/openapi.yaml and the schema files it refers to.

The bundled form inlines every schema file under `components/schemas` and
rewrites each `$ref` to point there, so tools that cannot follow external
references (Schemathesis, Prism) load it from one URL. It adds, from the
model packs, one typed submit and one status operation per model
(`openapi_packs`), and writes no boolean schema (`true`/`false`): several
code generators (openapi-python-client) cannot read one, so `true` becomes
`{}` and `false` becomes `{"not": {}}`, which mean the same.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from ..version import __version__
from .models import ModelPack, ModelRegistry
from .openapi_packs import model_operations, pack_schema, request_component
from .schemas import load_schemas, schema_dir

_FILE_REF = re.compile(r"^([a-z0-9-]+)\.schema\.json$")
# The model whose operations schemas/openapi.yaml writes out (operationIds submitTask, taskStatus).
_WRITTEN_SUBMIT = "/api/v1/generateTask/gpt-image-1"
_WRITTEN_STATUS = "/api/v1/statusTask/gpt-image-1"
# Keywords whose value is one schema, a list of schemas, or a map of names to schemas.
_SUBSCHEMA = ("items", "not", "if", "then", "else", "contains", "propertyNames", "contentSchema")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")


def component_name(file_name: str) -> str:
    """`submit-request.schema.json` -> `SubmitRequest`."""
    stem = file_name.removesuffix(".schema.json")
    return "".join(part.capitalize() for part in stem.split("-"))


def source_document() -> dict[str, Any]:
    """schemas/openapi.yaml as written (its `$ref`s name schema files)."""
    document: dict[str, Any] = yaml.safe_load((schema_dir() / "openapi.yaml").read_text("utf-8"))
    return document


def bundled_document(
    server_url: str | None = None,
    *,
    admin: bool = True,
    registry: ModelRegistry | None = None,
) -> dict[str, Any]:
    """One self-contained OpenAPI 3.1 document; without admin paths when `admin` is False.

    Every model of `registry` (default: the shipped packs) gets its own
    submit and status operation with its request schema as a component.
    """
    document: dict[str, Any] = _rewrite(copy.deepcopy(source_document()))
    document["info"]["version"] = __version__
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for file_name, content in load_schemas().items():
        body = {k: v for k, v in content.items() if k not in ("$id", "$schema")}
        schemas[component_name(file_name)] = _rewrite(copy.deepcopy(body))
    _add_models(document, ModelRegistry.load() if registry is None else registry)
    _for_generators(document)
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


def _add_models(document: dict[str, Any], registry: ModelRegistry) -> None:
    """Each pack's request components and its two operations, after the written paths."""
    paths: dict[str, Any] = document["paths"]
    shared = (paths[_WRITTEN_SUBMIT]["post"], paths[_WRITTEN_STATUS]["get"])
    taken = {op["operationId"] for item in paths.values() for op in item.values()}
    added: dict[str, Any] = {}
    for pack in registry:
        if f"/api/v1/generateTask/{pack.id}" not in paths:
            refs = _add_requests(document["components"]["schemas"], pack, registry)
            operations = model_operations(pack, refs, shared, taken)
            taken |= {op["operationId"] for item in operations.values() for op in item.values()}
            added.update(operations)
    # Written paths first, then the models in id order; the admin paths stay last.
    public = {p: v for p, v in paths.items() if not p.startswith("/__admin")}
    document["paths"] = {**public, **added, **{p: v for p, v in paths.items() if p not in public}}


def _add_requests(schemas: dict[str, Any], pack: ModelPack, registry: ModelRegistry) -> list[str]:
    """The pack's request schemas as components (one per file; every pack has one today)."""
    shared = load_schemas()

    def component_of(file_name: str) -> str | None:
        return component_name(file_name) if file_name in shared else None

    refs: list[str] = []
    for file_name in sorted({mode.request for mode in pack.modes.values()}):
        stem = file_name.removesuffix(".schema.json")
        name = request_component(f"{pack.id}-{stem}" if refs else pack.id, schemas)
        document = pack.request_schemas[file_name]
        schemas[name] = pack_schema(document, registry.schema_registry, component_of)
        refs.append(f"#/components/schemas/{name}")
    return refs


def _for_generators(document: dict[str, Any]) -> None:
    """Shape the components so code generators type every answer (same meaning throughout).

    A component's class is named after its `title` when it has one
    (openapi-python-client), so the title moves into the description and the
    component name (`StatusResponse`) names the class. Each envelope written
    as `allOf: [Envelope]` plus narrower properties becomes one object with
    those properties, so `data` is typed per answer instead of `Any`.
    """
    schemas: dict[str, Any] = document["components"]["schemas"]
    envelope = _schema_object(copy.deepcopy(schemas["Envelope"]))
    for name, schema in schemas.items():
        schemas[name] = _untitled(_flat_envelopes(_schema_object(schema), envelope))
    for holder in (document["paths"], document["components"].get("responses", {})):
        _flat_envelopes(holder, envelope)


def _untitled(schema: Any) -> Any:
    if isinstance(schema, dict) and "title" in schema:
        title = schema.pop("title")
        described = schema.get("description")
        schema["description"] = f"{title}: {described}" if described else title
    return schema


def _flat_envelopes(node: Any, envelope: dict[str, Any]) -> Any:
    """Merge every `allOf: [{$ref Envelope}]` with the properties beside it, in place.

    Each response schema restates an Envelope property only to narrow it
    (`code: {const: 200}`, a typed `data`), so its version alone means the same.
    """
    if isinstance(node, list):
        return [_flat_envelopes(item, envelope) for item in node]
    if not isinstance(node, dict):
        return node
    for key, value in node.items():
        node[key] = _flat_envelopes(value, envelope)
    if node.get("allOf") != [{"$ref": "#/components/schemas/Envelope"}]:
        return node
    own = {key: value for key, value in node.items() if key != "allOf"}
    return {
        **own,
        "type": "object",
        "required": sorted({*envelope["required"], *own.get("required", ())}),
        "properties": {**envelope["properties"], **own.get("properties", {})},
    }


def _schema_object(schema: Any) -> Any:
    if schema is True:
        return {}
    if schema is False:
        return {"not": {}}
    if not isinstance(schema, dict):
        return schema
    for key in _SUBSCHEMA:
        if key in schema:
            schema[key] = _schema_object(schema[key])
    for key in _SUBSCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            schema[key] = [_schema_object(item) for item in schema[key]]
    for key in _SUBSCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            schema[key] = {name: _schema_object(sub) for name, sub in schema[key].items()}
    # additionalProperties: false is the one boolean every generator reads; it stays.
    return schema
