"""One recorded session shared by the module's tests: recording it is the slow part."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).parents[2] / "fixtures" / "recordings" / "mock-example"

Mutation = Callable[[dict[str, Any]], None]


def files(directory: Path) -> list[Path]:
    """The exchange files of a recording, in order."""
    return sorted(directory.glob("[0-9]*-*.json"))


def documents(directory: Path) -> list[dict[str, Any]]:
    """Every exchange of a recording, parsed."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in files(directory)]


def task_bodies(document: dict[str, Any]) -> list[Any]:
    """The task-carrying bodies of an exchange: the answer's, and a callback's request."""
    bodies = [document["response"]["body"]]
    if document["kind"] == "callback":
        bodies.append(document["request"]["body"])
    return bodies


def mutate_tasks(directory: Path, change: Mutation) -> None:
    """Apply `change` to every task `data` object in the recording (as a changed API would)."""
    for path in files(directory):
        document = json.loads(path.read_text(encoding="utf-8"))
        for body in task_bodies(document):
            data = body.get("data") if isinstance(body, dict) else None
            if isinstance(data, dict) and "state" in data:
                change(data)
        path.write_text(json.dumps(document), encoding="utf-8")


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped example recording, free to break."""
    target = tmp_path / "recording"
    shutil.copytree(EXAMPLE, target)
    return target
