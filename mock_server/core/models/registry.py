"""The model registry: every pack folder under schemas/models/ (and any extra folder), checked.

A pack is data only: `<id>/manifest.json` and the request schema files it
names. Loading validates each manifest against
schemas/model-manifest.schema.json and then checks what a schema cannot
(the folder is named after the id, request files exist and are valid
schemas, price overrides and choices point at something real). Any problem
is a `ModelPackError` naming the folder and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .. import schemas
from .manifest import ModelPack

MANIFEST = "manifest.json"


class ModelPackError(ValueError):
    """A model pack that cannot be served; the message names the folder and the field."""

    def __init__(self, folder: Path, field: str, problem: str) -> None:
        self.folder = folder
        self.field = field
        super().__init__(f"model pack {folder}: {field}: {problem}")


def default_root() -> Path:
    """schemas/models/ of the checkout, or of the installed wheel."""
    return schemas.schema_dir() / "models"


def _read_json(folder: Path, name: str) -> Any:
    path = folder / name
    if not path.is_file():
        raise ModelPackError(folder, name, "file is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelPackError(folder, name, f"not JSON: {error}") from None


def _check_manifest(folder: Path, document: Any) -> None:
    validator = schemas.validator("model-manifest")
    error = best_match(validator.iter_errors(document))
    if error is not None:
        field = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise ModelPackError(folder, f"{MANIFEST} {field}", error.message)
    if document["id"] != folder.name:
        raise ModelPackError(folder, f"{MANIFEST} id", f"{document['id']!r} is not the folder name")
    extra = set(document["price"].get("by_mode", {})) - set(document["modes"])
    if extra:
        raise ModelPackError(folder, f"{MANIFEST} price/by_mode", f"no such mode: {sorted(extra)}")


def _check_request(folder: Path, name: str, document: Any) -> None:
    # jsonschema-rs checks against the meta-schema ~50x faster; jsonschema explains a failure.
    if not jsonschema_rs.meta.is_valid(document):
        try:
            Draft202012Validator.check_schema(document)
        except SchemaError as error:
            raise ModelPackError(folder, name, f"not a 2020-12 schema: {error.message}") from None
    if not isinstance(document.get("$id"), str):
        raise ModelPackError(folder, f"{name} $id", "every request schema needs an $id")


def _points_at_something(document: Any, pointer: str) -> bool:
    """Whether the JSON pointer (RFC 6901) names a value inside `document`."""
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(document, dict) and key in document:
            document = document[key]
        elif isinstance(document, list) and key.isdigit() and int(key) < len(document):
            document = document[int(key)]
        else:
            return False
    return True


def _check_choices(folder: Path, manifest: Any, requests: Mapping[str, Any]) -> None:
    for index, choice in enumerate(manifest["choices"]):
        file_name, _, pointer = choice["at"].rpartition("#")
        document = requests.get(file_name) if file_name else manifest
        if document is None or not _points_at_something(document, pointer):
            field = f"{MANIFEST} choices/{index}/at"
            raise ModelPackError(folder, field, f"{choice['at']!r} points at nothing")


def _check_per_second(folder: Path, pack: ModelPack) -> None:
    if pack.price.unit != "per_second":
        return
    for mode in pack.modes.values():
        if mode.output.duration_s is None:
            field = f"{MANIFEST} modes/{mode.name}/output"
            raise ModelPackError(folder, field, "priced per second but has no duration_s")


def load_pack(folder: Path) -> ModelPack:
    """One pack from its folder, fully checked."""
    manifest = _read_json(folder, MANIFEST)
    _check_manifest(folder, manifest)
    requests = {}
    for mode in manifest["modes"].values():
        name = mode["request"]
        if name not in requests:
            requests[name] = _read_json(folder, name)
            _check_request(folder, name, requests[name])
    _check_choices(folder, manifest, requests)
    try:
        pack = ModelPack.from_json(manifest, folder, requests)
    except ValueError as error:
        raise ModelPackError(folder, f"{MANIFEST} timing", str(error)) from None
    _check_per_second(folder, pack)
    return pack


def _pack_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        raise FileNotFoundError(f"model pack folder {root} does not exist")
    return sorted(
        path for path in root.iterdir() if path.is_dir() and not path.name.startswith((".", "_"))
    )


class ModelRegistry:
    """Every model pack by id, in a stable order, with compiled request validators."""

    def __init__(self, packs: Iterable[ModelPack]) -> None:
        by_id: dict[str, ModelPack] = {}
        for pack in packs:
            if pack.id in by_id:
                raise ModelPackError(
                    pack.folder, "id", f"{pack.id!r} is also {by_id[pack.id].folder}"
                )
            by_id[pack.id] = pack
        self._packs = MappingProxyType(dict(sorted(by_id.items())))
        self._registry = self._schema_registry()
        self._validators = MappingProxyType(
            {
                (pack.id, name): Draft202012Validator(document, registry=self._registry)
                for pack in self._packs.values()
                for name, document in pack.request_schemas.items()
            }
        )

    @classmethod
    def load(cls, roots: Sequence[Path] | None = None, extra: Sequence[Path] = ()) -> ModelRegistry:
        """Packs under `roots` (default: the shipped schemas/models/) plus `extra` pack folders."""
        folders = [
            f for root in (*(roots or [default_root()]), *extra) for f in _pack_folders(root)
        ]
        return cls(load_pack(folder) for folder in folders)

    def _schema_registry(self) -> Registry[Any]:
        """The project's schemas plus every pack's request schemas, each under its `$id`."""
        resources: dict[str, Resource[Any]] = {}
        for pack in self._packs.values():
            for name, document in pack.request_schemas.items():
                uri = document["$id"]
                if uri in resources:
                    raise ModelPackError(pack.folder, f"{name} $id", f"{uri} is used twice")
                resources[uri] = Resource.from_contents(document, default_specification=DRAFT202012)
        return schemas.registry().with_resources(resources.items())

    @property
    def schema_registry(self) -> Registry[Any]:
        """A referencing registry resolving every `$ref` of the packs offline."""
        return self._registry

    def get(self, model_id: str) -> ModelPack:
        """The pack of `model_id`; KeyError if no pack has that id."""
        return self._packs[model_id]

    def ids(self) -> tuple[str, ...]:
        """Every model id, sorted."""
        return tuple(self._packs)

    def validator(self, model_id: str, mode: str) -> Draft202012Validator:
        """The compiled 2020-12 validator of `mode`'s request schema."""
        return self._validators[(model_id, self.get(model_id).mode(mode).request)]

    def request_validator(self, model_id: str) -> Draft202012Validator:
        """The validator shared by every mode of `model_id` (ValueError if modes differ)."""
        names = {mode.request for mode in self.get(model_id).modes.values()}
        if len(names) != 1:
            raise ValueError(f"{model_id}'s modes use different request schemas: {sorted(names)}")
        return self._validators[(model_id, names.pop())]

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._packs

    def __iter__(self) -> Iterator[ModelPack]:
        return iter(self._packs.values())

    def __len__(self) -> int:
        return len(self._packs)
