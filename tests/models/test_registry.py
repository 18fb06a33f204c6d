"""The registry loads every pack folder, adds extra ones, and says what is wrong in a broken one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mock_server.core.models import ModelPackError, ModelRegistry, default_root, price_micros
from mock_server.core.schemas import schema_dir
from tests.models.conftest import PackMaker, read, write


def test_default_root_is_the_shipped_schemas_folder() -> None:
    assert default_root() == schema_dir() / "models"


def test_a_pack_added_in_a_folder_is_served(make_pack: PackMaker) -> None:
    folder = make_pack("pixel-1")
    registry = ModelRegistry.load(extra=[folder.parent])
    assert "pixel-1" in registry
    assert "gpt-image-1" in registry
    example = read(folder / "examples" / "text-to-image.request.json")
    assert registry.validator("pixel-1", "text-to-image").is_valid(example)
    assert price_micros(registry.get("pixel-1"), example) == 30_000


def test_roots_replace_the_shipped_packs(make_pack: PackMaker) -> None:
    folder = make_pack("pixel-1")
    assert ModelRegistry.load(roots=[folder.parent]).ids() == ("pixel-1",)


def test_order_is_stable_and_sorted(make_pack: PackMaker) -> None:
    for model_id in ("zeta", "alpha", "mid"):
        root = make_pack(model_id).parent
    registry = ModelRegistry.load(roots=[root])
    assert registry.ids() == ("alpha", "mid", "zeta")
    assert [pack.id for pack in registry] == list(registry.ids())
    assert len(registry) == 3


def test_hidden_and_underscore_folders_are_not_packs(make_pack: PackMaker) -> None:
    root = make_pack("real").parent
    (root / ".cache").mkdir()
    (root / "_drafts").mkdir()
    assert ModelRegistry.load(roots=[root]).ids() == ("real",)


def test_the_same_id_twice_is_refused(make_pack: PackMaker) -> None:
    make_pack("twin", root="one")
    folder = make_pack("twin", root="two")
    with pytest.raises(ModelPackError, match="twin"):
        ModelRegistry.load(roots=[folder.parents[1] / "one", folder.parent])


def test_the_same_schema_id_twice_is_refused(make_pack: PackMaker) -> None:
    root = make_pack("one").parent
    copy = make_pack("two")
    request = read(copy / "request.schema.json")
    request["$id"] = read(root / "one" / "request.schema.json")["$id"]
    write(copy / "request.schema.json", request)
    with pytest.raises(ModelPackError, match="used twice"):
        ModelRegistry.load(roots=[root])


def test_a_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ModelRegistry.load(roots=[tmp_path / "nowhere"])


Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    def edit(manifest: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        target = manifest
        for part in parents:
            target = target[part]
        target[last] = value

    return edit


def _drop(key: str) -> Edit:
    return lambda manifest: manifest.pop(key)


BROKEN_MANIFESTS = [
    ("usd-not-exact", _set("price/usd", "0.3x"), "manifest.json price/usd"),
    ("usd-a-float", _set("price/usd", 0.03), "manifest.json price/usd"),
    ("no-category", _drop("category"), "manifest.json (top level): 'category' is a required"),
    ("unknown-rule", _set("price/rule", "per_pixel"), "manifest.json price/rule"),
    ("id-not-folder", _set("id", "other"), "manifest.json id: 'other' is not the folder name"),
    ("bad-kind", _set("modes/text-to-image/output/kind", "text"), "modes/text-to-image/output"),
    ("video-as-png", _set("modes/text-to-image/output/kind", "video"), "text-to-image/output"),
    ("by-mode-unknown", _set("price/by_mode", {"turbo": "0.5"}), "price/by_mode: no such mode"),
    ("choice-nowhere", _set("choices", [{"at": "/nope", "reason": "x"}]), "choices/0/at"),
    (
        "choice-in-schema",
        _set("choices", [{"at": "request.schema.json#/x", "reason": "x"}]),
        "choices/0/at",
    ),
    ("timing-upside-down", _set("timing/quick/processing_max_ms", 1), "timing"),
    (
        "no-request-file",
        _set("modes/text-to-image/request", "gone.schema.json"),
        "gone.schema.json: file is missing",
    ),
    (
        "per-second-image",
        _set("price/rule", "per_second"),
        "priced per second but has no duration_s",
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [case[1:] for case in BROKEN_MANIFESTS],
    ids=[c[0] for c in BROKEN_MANIFESTS],
)
def test_a_broken_manifest_names_folder_and_field(
    make_pack: PackMaker, edit: Edit, expected: str
) -> None:
    folder = make_pack("broken")
    manifest = read(folder / "manifest.json")
    edit(manifest)
    write(folder / "manifest.json", manifest)
    with pytest.raises(ModelPackError) as caught:
        ModelRegistry.load(roots=[folder.parent])
    assert str(folder) in str(caught.value)
    assert expected in str(caught.value)


def test_a_manifest_that_is_not_json_is_a_clear_error(make_pack: PackMaker) -> None:
    folder = make_pack("broken")
    (folder / "manifest.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(ModelPackError, match=r"broken: manifest.json: not JSON"):
        ModelRegistry.load(roots=[folder.parent])


def test_a_folder_without_manifest_is_a_clear_error(make_pack: PackMaker) -> None:
    folder = make_pack("broken")
    (folder / "manifest.json").unlink()
    with pytest.raises(ModelPackError, match=r"broken: manifest.json: file is missing"):
        ModelRegistry.load(roots=[folder.parent])


def test_a_request_schema_that_is_no_schema_is_a_clear_error(make_pack: PackMaker) -> None:
    folder = make_pack("broken")
    (folder / "request.schema.json").write_text(json.dumps({"type": 5}), encoding="utf-8")
    with pytest.raises(ModelPackError, match=r"request.schema.json: not a 2020-12 schema"):
        ModelRegistry.load(roots=[folder.parent])


def test_modes_with_different_schemas_have_no_shared_validator(make_pack: PackMaker) -> None:
    folder = make_pack("split")
    request = read(folder / "request.schema.json")
    request["$id"] = request["$id"].replace("request.schema", "request.i2i.schema")
    write(folder / "request.i2i.schema.json", request)
    manifest = read(folder / "manifest.json")
    manifest["modes"]["image-to-image"]["request"] = "request.i2i.schema.json"
    write(folder / "manifest.json", manifest)
    registry = ModelRegistry.load(roots=[folder.parent])
    schema = registry.validator("split", "image-to-image").schema
    assert isinstance(schema, dict)
    assert schema["$id"] == request["$id"]
    with pytest.raises(ValueError, match="different request schemas"):
        registry.request_validator("split")
