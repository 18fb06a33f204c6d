"""Every example in fixtures/examples validates; deliberately broken ones are rejected."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mock_server.core.schemas import load_schemas, validator

EXAMPLES = Path(__file__).parents[2] / "fixtures" / "examples"


def schema_for(name: str) -> str:
    """Which schema an example must pass, from its file name (see fixtures/examples/README.md)."""
    if name.endswith(".request.json"):
        return "submit-request"
    if name.endswith(".error.json"):
        return "error-envelope"
    return name.split(".")[0].split("-")[0] + "-response"


def load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_example_validates(name: str) -> None:
    errors = [e.message for e in validator(schema_for(name)).iter_errors(load(name))]
    assert errors == []


def test_every_schema_has_an_id_under_one_base() -> None:
    for file_name, schema in load_schemas().items():
        assert schema["$id"].endswith("/schemas/" + file_name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


Breaker = Callable[[Any], None]


def set_in(path: list[str], value: Any) -> Breaker:
    def breaker(document: Any) -> None:
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return breaker


def drop(path: list[str]) -> Breaker:
    def breaker(document: Any) -> None:
        target = document
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return breaker


BROKEN: list[tuple[str, str, Breaker]] = [
    (
        "status-success.response.json",
        "result-json-as-object",
        set_in(["data", "resultJson"], {"resultUrls": []}),
    ),
    ("status-success.response.json", "missing-complete-time", drop(["data", "completeTime"])),
    ("status-success.response.json", "seconds-not-ms", set_in(["data", "createTime"], 1767965610)),
    ("status-success.response.json", "cost-time-string", set_in(["data", "costTime"], "41388")),
    ("status-success.response.json", "unknown-state", set_in(["data", "state"], "done")),
    ("status-success.response.json", "code-string", set_in(["code"], "200")),
    ("status-success.response.json", "success-with-fail-code", set_in(["data", "failCode"], "X")),
    ("status-failed.response.json", "missing-fail-code", drop(["data", "failCode"])),
    ("status-failed.response.json", "undocumented-fail-code", set_in(["data", "failCode"], "OOPS")),
    ("status-failed.response.json", "empty-fail-msg", set_in(["data", "failMsg"], "")),
    ("status-failed.response.json", "failed-with-result", set_in(["data", "resultJson"], "{}")),
    ("submit-success.response.json", "missing-task-id", drop(["data", "taskId"])),
    ("submit-success.response.json", "no-message", drop(["message"])),
    ("balance.response.json", "balance-as-string", set_in(["data"], "74.87")),
    ("balance.response.json", "balance-as-bool", set_in(["data"], True)),
    ("submit-insufficient-credits.error.json", "error-with-2xx-code", set_in(["code"], 200)),
    ("submit-text-to-image.request.json", "num-images-3", set_in(["input", "num_images"], 3)),
    ("submit-text-to-image.request.json", "no-prompt", drop(["input", "prompt"])),
    (
        "submit-reference-guided.request.json",
        "url-not-http",
        set_in(["input", "image_urls"], ["file:///x.png"]),
    ),
    (
        "submit-text-to-image.request.json",
        "callback-without-url",
        set_in(["request_type"], "callback"),
    ),
]


@pytest.mark.parametrize(
    ("name", "breaker"), [(n, b) for n, _, b in BROKEN], ids=[i for _, i, _ in BROKEN]
)
def test_broken_example_is_rejected(name: str, breaker: Breaker) -> None:
    document = copy.deepcopy(load(name))
    breaker(document)
    assert not validator(schema_for(name)).is_valid(document)
