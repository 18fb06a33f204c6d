"""A served mock, its /openapi.json, and a client and models generated from it once per session.

Both generators run as their command-line tools, side by side, offline
(proxies point at a closed port, so any download fails the run), into a
session tmp folder that is put on sys.path only while the session lasts.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from mock_server.core.models import ModelRegistry
from mock_server.testing.server import MockServer
from tests.models.conftest import make_pack  # noqa: F401 (the fixture, for tests here too)

API_KEY = "openapi-key"
BROKE_KEY = "openapi-broke-key"
CLIENT_PACKAGE = "apixo_generated_client"
MODELS_MODULE = "apixo_generated_models"
GENERATOR_TIMEOUT_S = 300
# Settings of openapi-python-client: no formatter run (ruff need not be on PATH), and PNG
# answers read as bytes (it maps no image/* type itself).
CLIENT_CONFIG = {
    "post_hooks": [],
    "content_type_overrides": {"image/png": "application/octet-stream"},
}


@dataclass(frozen=True)
class Generated:
    """The generated client package and models module, and what the generators printed."""

    client: ModuleType
    models: ModuleType
    client_output: str
    models_output: str

    def client_module(self, name: str) -> Any:
        """A module of the generated client, e.g. `api.public.submit_task`."""
        return importlib.import_module(f"{CLIENT_PACKAGE}.{name}")


@pytest.fixture(scope="session")
def model_registry() -> ModelRegistry:
    """Every shipped pack."""
    return ModelRegistry.load()


@pytest.fixture(scope="session")
def served() -> Iterator[MockServer]:
    """A mock on a free loopback port, frozen clock, two keys (one with no money)."""
    with MockServer(keys=(API_KEY, BROKE_KEY), seed=11, profile="quick") as mock:
        mock.set_balance(0, key=BROKE_KEY)
        yield mock


@pytest.fixture(scope="session")
def served_document(served: MockServer) -> dict[str, Any]:
    """The document the mock serves at /openapi.json."""
    answer = requests.get(f"{served.base_url}/openapi.json", timeout=30)
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def _offline_env() -> dict[str, str]:
    closed = "http://127.0.0.1:9"
    return {**os.environ, "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "NO_PROXY": ""}


def _start(command: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=_offline_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    try:
        output, _ = process.communicate(timeout=GENERATOR_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, output
    return output


def _generate(root: Path, document_path: Path) -> tuple[str, str]:
    """Runs both generators at once (they are independent); returns what each printed."""
    config = root / "client-config.json"
    config.write_text(json.dumps(CLIENT_CONFIG), encoding="utf-8")
    client = _start(
        [
            *(sys.executable, "-m", "openapi_python_client", "generate"),
            *("--path", str(document_path), "--output-path", str(root / CLIENT_PACKAGE)),
            *("--meta", "none", "--config", str(config)),
        ],
        root,
    )
    models = _start(
        [
            *(sys.executable, "-m", "datamodel_code_generator"),
            *("--input", str(document_path), "--input-file-type", "openapi"),
            *("--output", str(root / f"{MODELS_MODULE}.py")),
            *("--output-model-type", "pydantic_v2.BaseModel", "--target-python-version", "3.10"),
            "--no-formatters",
        ],
        root,
    )
    return _finish(client), _finish(models)


@pytest.fixture(scope="session")
def generated(
    tmp_path_factory: pytest.TempPathFactory, served_document: dict[str, Any]
) -> Iterator[Generated]:
    """openapi-python-client's client and datamodel-code-generator's models, imported."""
    root = tmp_path_factory.mktemp("generated")
    document_path = root / "openapi.json"
    document_path.write_text(json.dumps(served_document), encoding="utf-8")
    client_output, models_output = _generate(root, document_path)
    sys.path.insert(0, str(root))
    try:
        yield Generated(
            client=importlib.import_module(CLIENT_PACKAGE),
            models=importlib.import_module(MODELS_MODULE),
            client_output=client_output,
            models_output=models_output,
        )
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.startswith((CLIENT_PACKAGE, MODELS_MODULE))]:
            del sys.modules[name]
