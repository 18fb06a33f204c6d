"""Every shipped pack is well formed: manifests, schemas and examples validate; data agrees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mock_server.core.models import ModelRegistry, bundled, default_root, outputs_for, price_micros
from mock_server.core.schemas import validator
from mock_server.core.timing import PROFILES
from tests.models.conftest import read

# The 23 models of the docs' index, in the registry's (sorted) order.
INDEXED_MODELS = [
    "flux-2",
    "flux-kontext",
    "gpt-image-1",
    "gpt-image-2",
    "happyHorse",
    "kling-2-1",
    "kling-2-5-turbo-pro",
    "kling-2-6",
    "kling-3-0-std",
    "ltx-2-19b",
    "midjourney",
    "nano-banana",
    "nano-banana-2",
    "nano-banana-pro",
    "seedance-1-5-pro",
    "seedance-2-0-fast",
    "seedream-4-5",
    "seedream-5-0",
    "sora-2",
    "sora-2-pro",
    "suno",
    "veo-3-1",
    "wan-2-5",
]
FOLDERS = sorted(p for p in default_root().iterdir() if p.is_dir())
EXAMPLES = sorted(default_root().glob("*/examples/*.request.json"))


def test_a_pack_ships_for_every_documented_model(model_registry: ModelRegistry) -> None:
    assert model_registry.ids() == tuple(INDEXED_MODELS)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_manifest_validates_against_the_manifest_schema(folder: Path) -> None:
    errors = [
        e.message for e in validator("model-manifest").iter_errors(read(folder / "manifest.json"))
    ]
    assert errors == []


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_every_pack_has_an_example_request(folder: Path) -> None:
    assert list((folder / "examples").glob("*.request.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_example_request_validates_and_prices(model_registry: ModelRegistry, path: Path) -> None:
    body = read(path)
    pack = model_registry.get(path.parents[1].name)
    mode = body["input"]["mode"]
    assert [e.message for e in model_registry.validator(pack.id, mode).iter_errors(body)] == []
    assert model_registry.request_validator(pack.id).is_valid(body)
    assert price_micros(pack, body) > 0
    assert outputs_for(pack, body)


def _input(registry: ModelRegistry, model_id: str, mode: str) -> dict[str, Any]:
    request_input: dict[str, Any] = bundled(registry.get(model_id), mode, registry.schema_registry)[
        "properties"
    ]["input"]
    return request_input


MODES = [(f.name, mode) for f in FOLDERS for mode in read(f / "manifest.json")["modes"]]


@pytest.mark.parametrize("model_id", INDEXED_MODELS)
def test_schema_accepts_exactly_the_manifest_modes(
    model_registry: ModelRegistry, model_id: str
) -> None:
    pack = model_registry.get(model_id)
    for mode in pack.modes:
        assert _input(model_registry, model_id, mode)["properties"]["mode"]["enum"] == list(
            pack.modes
        )


@pytest.mark.parametrize("model_id", INDEXED_MODELS)
def test_schema_enforces_the_manifest_providers(
    model_registry: ModelRegistry, model_id: str
) -> None:
    pack = model_registry.get(model_id)
    schema = bundled(pack, next(iter(pack.modes)), model_registry.schema_registry)
    provider = schema["properties"]["provider"]
    assert (provider["enum"], provider["default"]) == (
        list(pack.provider.values),
        pack.provider.default,
    )


def _enum(request_input: dict[str, Any], field: str) -> list[Any]:
    values: list[Any] = request_input["properties"][field].get("enum", [])
    return values


@pytest.mark.parametrize(("model_id", "mode"), MODES)
def test_every_value_the_schema_allows_has_an_output(
    model_registry: ModelRegistry, model_id: str, mode: str
) -> None:
    output = model_registry.get(model_id).mode(mode).output
    request_input = _input(model_registry, model_id, mode)
    if output.size:
        for field in output.size.aspect_ratio.fields:
            assert set(_enum(request_input, field)) <= set(output.size.aspect_ratio.sizes)
        if output.size.resolution:
            for field in output.size.resolution.fields:
                assert set(_enum(request_input, field)) <= set(output.size.resolution.pixels)
    allowed = {"image": {"png", "jpeg", "webp"}, "video": {"mp4"}, "audio": {"mp3"}}[output.kind]
    for field in output.format.fields:
        named = {output.format.aliases.get(v, v) for v in _enum(request_input, field)}
        assert named <= allowed


@pytest.mark.parametrize(("model_id", "mode"), MODES)
def test_schema_defaults_are_the_manifest_defaults(
    model_registry: ModelRegistry, model_id: str, mode: str
) -> None:
    output = model_registry.get(model_id).mode(mode).output
    properties = _input(model_registry, model_id, mode)["properties"]
    settings: list[tuple[tuple[str, ...], Any]] = [
        (output.count.fields, output.count.default),
        (output.format.fields, output.format.default),
    ]
    if output.duration_s:
        settings.append((output.duration_s.fields, output.duration_s.default))
    if output.size:
        settings.append((output.size.aspect_ratio.fields, output.size.aspect_ratio.default))
        if output.size.resolution:
            settings.append((output.size.resolution.fields, output.size.resolution.default))
    for fields, default in settings:
        for field in fields:
            if "default" in properties[field]:
                assert (
                    output.format.aliases.get(
                        properties[field]["default"], properties[field]["default"]
                    )
                    == default
                )


@pytest.mark.parametrize("model_id", INDEXED_MODELS)
def test_timing_profiles_are_ordered_and_videos_take_minutes(
    model_registry: ModelRegistry, model_id: str
) -> None:
    pack = model_registry.get(model_id)
    timing = pack.timing
    assert timing.instant == PROFILES["instant"]
    assert timing.quick.processing_max_ms <= timing.realistic.processing_min_ms
    if pack.category != "image":
        assert timing.realistic.processing_max_ms >= 60_000


@pytest.mark.parametrize("model_id", INDEXED_MODELS)
def test_choices_name_a_reason_and_docs_url_is_apixo(
    model_registry: ModelRegistry, model_id: str
) -> None:
    pack = model_registry.get(model_id)
    assert pack.docs_url.startswith("https://apixo.ai/")
    assert pack.choices
    assert all(choice.reason for choice in pack.choices)


def test_only_ltx_adds_a_fail_code(model_registry: ModelRegistry) -> None:
    added = {pack.id: dict(pack.fail_codes) for pack in model_registry if pack.fail_codes}
    assert added == {"ltx-2-19b": {"INVALID_LORA_URL": "Cannot download LoRA model"}}


def test_only_the_sora_models_are_restricted_to_official(model_registry: ModelRegistry) -> None:
    restricted = {
        pack.id for pack in model_registry if pack.provider.values != ("auto", "value", "official")
    }
    assert restricted == {"sora-2", "sora-2-pro"}
    sora = model_registry.get("sora-2")
    body = read(default_root() / "sora-2" / "examples" / "text-to-video.request.json")
    assert model_registry.request_validator("sora-2").is_valid(body)
    assert not model_registry.request_validator("sora-2").is_valid({**body, "provider": "auto"})
    assert sora.provider.default == "official"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_request_schemas_are_2020_12_schemas_with_an_id_under_the_pack(folder: Path) -> None:
    for path in folder.glob("*.schema.json"):
        schema = read(path)
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(f"/schemas/models/{folder.name}/{path.name}")
