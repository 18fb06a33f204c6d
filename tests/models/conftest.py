"""Fixtures of the model-pack tests: the shipped registry (loaded once), packs to break."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mock_server.core.models import ModelRegistry, default_root

PackMaker = Callable[..., Path]


@pytest.fixture(scope="session")
def model_registry() -> ModelRegistry:
    """Every shipped pack (loading validates them all)."""
    return ModelRegistry.load()


def read(path: Path) -> Any:
    """A JSON file's content."""
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, document: Any) -> None:
    """Writes `document` as JSON."""
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


@pytest.fixture
def make_pack(tmp_path: Path) -> PackMaker:
    """Copies a shipped pack into a fresh root under a new id; returns the new pack's folder."""

    def make(new_id: str, source: str = "nano-banana", root: str = "packs") -> Path:
        folder = tmp_path / root / new_id
        shutil.copytree(default_root() / source, folder)
        manifest = read(folder / "manifest.json")
        manifest["id"] = new_id
        write(folder / "manifest.json", manifest)
        request = read(folder / "request.schema.json")
        request["$id"] = f"https://apixo-mock.invalid/test-packs/{new_id}/request.schema.json"
        write(folder / "request.schema.json", request)
        return folder

    return make
