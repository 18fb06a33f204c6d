"""The bundled document: valid, one typed submit and status operation per model, generator-safe."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mock_server.core.models import ModelRegistry
from mock_server.core.openapi import bundled_document
from mock_server.core.openapi_packs import operation_suffix, request_component
from mock_server.version import __version__
from tests.models.conftest import PackMaker

# Keywords whose value is a schema, a list of schemas, or a map of names to schemas.
SUBSCHEMA = ("items", "not", "if", "then", "else", "contains", "propertyNames", "contentSchema")
SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")


def boolean_schemas(schema: Any, where: str) -> list[str]:
    """Where a boolean stands for a schema (additionalProperties aside, which generators read)."""
    if isinstance(schema, bool):
        return [where]
    if not isinstance(schema, dict):
        return []
    found = [f for key in SUBSCHEMA if key in schema for f in boolean_schemas(schema[key], key)]
    for key in SUBSCHEMA_LISTS:
        found += [f for i, s in enumerate(schema.get(key, ())) for f in boolean_schemas(s, key)]
    for key in SUBSCHEMA_MAPS:
        found += [
            f for n, s in schema.get(key, {}).items() for f in boolean_schemas(s, f"{where}/{n}")
        ]
    return found


def schemas_in(document: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every component schema and every schema written inline in a path."""
    found = list(document["components"]["schemas"].items())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
            for body in bodies:
                for media in body.get("content", {}).values():
                    found.append((f"{method} {path}", media.get("schema", {})))
    return found


@pytest.fixture(scope="module")
def document(model_registry: ModelRegistry) -> dict[str, Any]:
    return bundled_document("http://127.0.0.1:8000", registry=model_registry)


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        op["operationId"]: (method, path)
        for path, item in document["paths"].items()
        for method, op in item.items()
    }


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)


def test_the_document_names_the_api_and_the_package_version(document: dict[str, Any]) -> None:
    assert document["info"]["title"] == "APIXO generation API (as served by apixo-mock)"
    assert document["info"]["version"] == __version__


def test_every_model_has_one_submit_and_one_status_operation(
    document: dict[str, Any], model_registry: ModelRegistry
) -> None:
    by_id = operations(document)
    for model_id in model_registry.ids():
        if model_id == "gpt-image-1":
            continue
        suffix = operation_suffix(model_id)
        assert by_id[f"submit_{suffix}"] == ("post", f"/api/v1/generateTask/{model_id}")
        assert by_id[f"status_{suffix}"] == ("get", f"/api/v1/statusTask/{model_id}")
    submits = [p for p in document["paths"] if p.startswith("/api/v1/generateTask/")]
    statuses = [p for p in document["paths"] if p.startswith("/api/v1/statusTask/")]
    assert len(submits) == len(statuses) == len(model_registry)


def test_gpt_image_1_keeps_its_written_operations(document: dict[str, Any]) -> None:
    by_id = operations(document)
    assert by_id["submitTask"] == ("post", "/api/v1/generateTask/gpt-image-1")
    assert by_id["taskStatus"] == ("get", "/api/v1/statusTask/gpt-image-1")
    assert by_id["currentBalance"] == ("get", "/api/v1/apikeys/current-balance")


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = Counter(op["operationId"] for item in document["paths"].values() for op in item.values())
    assert [name for name, count in ids.items() if count > 1] == []


def test_each_model_submits_its_own_request_component(
    document: dict[str, Any], model_registry: ModelRegistry
) -> None:
    components = document["components"]["schemas"]
    for pack in model_registry:
        if pack.id == "gpt-image-1":
            continue
        body = document["paths"][f"/api/v1/generateTask/{pack.id}"]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]
        name = ref.removeprefix("#/components/schemas/")
        assert name.isidentifier()
        assert name.endswith("Request")
        assert components[name]["properties"]["input"]["properties"]["mode"]["enum"] == list(
            pack.modes
        )
    assert "NanoBanana2Request" in components


def test_no_schema_is_a_boolean_and_no_component_has_a_title(document: dict[str, Any]) -> None:
    # openapi-python-client cannot parse `true`/`false` as a schema, and names a class after a
    # title instead of the component.
    found = [f"{where}: {b}" for where, s in schemas_in(document) for b in boolean_schemas(s, "")]
    assert found == []
    assert [n for n, s in document["components"]["schemas"].items() if "title" in s] == []


def test_every_ref_points_at_a_component(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    refs = {part.split('"')[0] for part in text.split('"$ref": "')[1:]}
    components = document["components"]
    targets = {f"#/components/schemas/{name}" for name in components["schemas"]}
    targets |= {f"#/components/responses/{name}" for name in components["responses"]}
    assert refs - targets == set()


def test_answers_say_what_their_data_is(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    assert components["Envelope"]["properties"]["data"] == {}
    submit = components["SubmitResponse"]["properties"]["data"]
    assert submit["properties"]["taskId"] == {"type": "string", "minLength": 1}
    assert components["StatusResponse"]["properties"]["data"] == {
        "$ref": "#/components/schemas/TaskStatus"
    }
    assert components["BalanceResponse"]["properties"]["data"]["type"] == "number"
    for name in ("SubmitResponse", "StatusResponse", "BalanceResponse", "ErrorEnvelope"):
        assert "allOf" not in components[name]
        assert set(components[name]["required"]) == {"code", "message", "data"}


def component_validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    """A 2020-12 validator of one component, resolving `#/components/...` in the document."""
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:openapi", resource)
    return Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{name}"}, registry=registry
    )


def test_request_components_accept_the_packs_examples_and_refuse_what_packs_refuse(
    document: dict[str, Any], model_registry: ModelRegistry
) -> None:
    checked = 0
    for pack in model_registry:
        if pack.id == "gpt-image-1":
            continue
        name = request_component(pack.id, ())
        validator = component_validator(document, name)
        for example in sorted((pack.folder / "examples").glob("*.request.json")):
            body = json.loads(example.read_text(encoding="utf-8"))
            assert list(validator.iter_errors(body)) == [], example
            broken = {**body, "request_type": "callback"}
            broken.pop("callback_url", None)
            assert not validator.is_valid(broken), example
            checked += 1
    assert checked >= len(model_registry) - 1


def test_an_added_pack_gets_its_operations(make_pack: PackMaker) -> None:
    folder = make_pack("pixel-1")
    document = bundled_document(registry=ModelRegistry.load(extra=[folder.parent]))
    assert document["paths"]["/api/v1/generateTask/pixel-1"]["post"]["operationId"] == (
        "submit_pixel_1"
    )
    assert "Pixel1Request" in document["components"]["schemas"]


def test_component_names_are_identifiers_and_never_clash() -> None:
    assert request_component("nano-banana-2", ()) == "NanoBanana2Request"
    assert request_component("happyHorse", ()) == "HappyHorseRequest"
    assert request_component("3d.model_x", ()) == "Model3dModelXRequest"
    assert request_component("submit", {"SubmitRequest"}) == "SubmitModelRequest"
    taken = {"SubmitRequest", "SubmitModelRequest"}
    assert request_component("submit", taken) == "SubmitModelRequest2"
    assert operation_suffix("seedance-2-0-fast") == "seedance_2_0_fast"
    assert operation_suffix("happyHorse") == "happy_horse"
    assert operation_suffix("happy-horse", {"submit_happy_horse"}) == "happy_horse_2"


def test_ids_that_read_alike_get_distinct_operations_and_components(
    make_pack: PackMaker,
) -> None:
    root = make_pack("nano-banana-x").parent
    make_pack("nano_banana.x")
    document = bundled_document(registry=ModelRegistry.load(roots=[root]))
    by_id = operations(document)
    assert by_id["submit_nano_banana_x"] == ("post", "/api/v1/generateTask/nano-banana-x")
    assert by_id["submit_nano_banana_x_2"] == ("post", "/api/v1/generateTask/nano_banana.x")
    requests = [n for n in document["components"]["schemas"] if n.startswith("NanoBananaX")]
    assert sorted(requests) == ["NanoBananaXModelRequest", "NanoBananaXRequest"]


def test_the_shipped_schema_files_keep_their_boolean_schemas() -> None:
    # Only the bundle changes: schemas/ stays plain 2020-12 (the validators read it).
    envelope = Path(__file__).parents[2] / "schemas" / "envelope.schema.json"
    assert json.loads(envelope.read_text(encoding="utf-8"))["properties"]["data"] is True
