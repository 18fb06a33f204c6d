"""Submit bodies of one model, built from its pack alone (manifest, request schema, examples).

gpt-image-1 keeps its own tables (mutations.py, fleet.py); every other model
gets the same kinds of body from its pack: a plain body (the docs' first
example with a prompt), the smallest valid body (optional fields dropped
while the schema still takes it), a body with a trigger or a prompt the
target refuses, one with an unreachable reference image, one with unknown
fields and the longest prompt the schema allows. Each is checked against the
pack's own request schema before the suite sends it, so a body the suite
calls valid is valid by the pack.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from typing import Any

from mock_server.core.models import MISSING, condition_domains, strategy_schema
from mock_server.core.schemas import StrictValidator

from .models import ModelCase, case

UNREACHABLE_IMAGE = "https://images.invalid/apixo-contract/reference.png"
UNKNOWN_FIELD = "apixo_contract_unknown_field"
TOP_LEVEL = ("request_type", "provider", "callback_url")


def is_valid(model: ModelCase, body: Any) -> bool:
    """Whether the pack's request schema (and its mode list) takes `body`."""
    given = body.get("input") if isinstance(body, dict) else None
    mode = given.get("mode") if isinstance(given, dict) else None
    if not isinstance(mode, str) or mode not in model.pack.modes:
        return False
    return bool(_validator(model.id, model.pack.modes[mode].request).is_valid(body))


@cache
def _validator(model: str, request: str) -> Any:
    registry = case(model).registry
    document = registry.get(model).request_schemas[request]
    return StrictValidator(document, registry=registry.schema_registry)


def plain_body(model: ModelCase) -> dict[str, Any]:
    """The docs' first example (by name) that has a prompt, else the first example."""
    examples = model.examples()
    if not examples:
        raise LookupError(f"{model.id} has no example request in its pack")
    chosen = next((body for body in examples if "prompt" in body["input"]), examples[0])
    return copy.deepcopy(chosen)


def minimal_body(model: ModelCase) -> dict[str, Any]:
    """The plain body without every field the schema lets go: the model's defaults apply."""
    body = plain_body(model)
    for name in TOP_LEVEL:
        _drop_if_valid(model, body, name)
    for name in list(body["input"]):
        if name != "mode":
            _drop_if_valid(model, body["input"], name, whole=body)
    return body


def _drop_if_valid(
    model: ModelCase, parent: dict[str, Any], name: str, whole: dict[str, Any] | None = None
) -> None:
    if name not in parent:
        return
    value = parent.pop(name)
    if not is_valid(model, whole if whole is not None else parent):
        parent[name] = value


def prompt_field(model: ModelCase, mode: str) -> bool:
    """Whether the mode's input has a `prompt`."""
    return "prompt" in input_schema(model, mode).get("properties", {})


def with_trigger(model: ModelCase, trigger: str) -> dict[str, Any] | None:
    """The plain body with `trigger` in its prompt, else in its first URL; None if neither fits."""
    body = plain_body(model)
    given = body["input"]
    if isinstance(given.get("prompt"), str):
        given["prompt"] = f"{given['prompt']}, {trigger}"
        if is_valid(model, body):
            return body
        given["prompt"] = trigger
        return body if is_valid(model, body) else None
    for name, value in given.items():
        if "url" in name.lower() and value:
            url = f"https://example.com/apixo-contract/{trigger}.png"
            given[name] = [url, *value[1:]] if isinstance(value, list) else url
            return body if is_valid(model, body) else None
    return None


def with_prompt(model: ModelCase, prompt: str) -> dict[str, Any] | None:
    """The plain body with exactly this prompt (None if the model takes no prompt)."""
    body = plain_body(model)
    if "prompt" not in body["input"]:
        return None
    body["input"]["prompt"] = prompt
    return body


def unreachable_reference(model: ModelCase) -> dict[str, Any] | None:
    """An example whose reference images all point at a host that never resolves (RFC 2606)."""
    for example in (plain_body(model), *model.examples()):
        body = copy.deepcopy(example)
        fields = [name for name in body["input"] if _is_image_url_field(name)]
        for name in fields:
            value = body["input"][name]
            body["input"][name] = (
                [UNREACHABLE_IMAGE] * len(value) if isinstance(value, list) else (UNREACHABLE_IMAGE)
            )
        if fields and is_valid(model, body):
            return body
    return None


def _is_image_url_field(name: str) -> bool:
    lowered = name.lower()
    return "image" in lowered and "url" in lowered


def extras_body(model: ModelCase) -> dict[str, Any]:
    """The plain body with unknown fields (top level and input) and its longest allowed prompt."""
    body = plain_body(model)
    body[UNKNOWN_FIELD] = {"ignored": True}
    body["input"][UNKNOWN_FIELD] = 1
    longest = prompt_limits(model, body)[1]
    if longest is not None:
        body["input"]["prompt"] = _long_prompt(longest)
    return body


def shortest_prompt_body(model: ModelCase) -> dict[str, Any] | None:
    """The plain body with the shortest prompt its schema allows (None without a prompt)."""
    body = plain_body(model)
    shortest = prompt_limits(model, body)[0]
    if shortest is None:
        return None
    body["input"]["prompt"] = "a" * max(1, shortest)
    return body


def _long_prompt(length: int) -> str:
    words = "a quiet harbour at dawn, small boats, soft light, mist. "
    return (words * (length // len(words) + 1))[:length]


def prompt_limits(model: ModelCase, body: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """The shortest and longest prompt the body's schema branch allows (None: no prompt)."""
    schema = branch_input(model, body)
    if "prompt" not in schema.get("properties", {}) or "prompt" not in body["input"]:
        return None, None
    rules = [schema["properties"]["prompt"]]
    rules += [rule.get("properties", {}).get("prompt", {}) for rule in schema.get("allOf", [])]
    lows = [int(rule["minLength"]) for rule in rules if "minLength" in rule]
    highs = [int(rule["maxLength"]) for rule in rules if "maxLength" in rule]
    return max(lows, default=0), min(highs, default=None)


def branch_input(model: ModelCase, body: Mapping[str, Any]) -> dict[str, Any]:
    """The `input` schema of the branch `body` takes (its conditions decided by its values)."""
    mode = body["input"]["mode"]
    registry = model.registry.schema_registry
    domains = condition_domains(model.pack, mode, registry)
    pins = {name: _pinned(body, name) for name in domains}
    schema = strategy_schema(model.pack, mode, registry, pins)
    found: dict[str, Any] = schema["properties"]["input"]
    return found


def _pinned(body: Mapping[str, Any], dotted: str) -> Any:
    parent: Any = body
    *path, last = dotted.split(".")
    for name in path:
        parent = parent.get(name, {})
    return parent.get(last, MISSING)


def input_schema(model: ModelCase, mode: str) -> dict[str, Any]:
    """The mode's `input` schema, self-contained (every `$ref` inlined)."""
    registry = model.registry.schema_registry
    schema = strategy_schema(model.pack, mode, registry)
    found: dict[str, Any] = schema["properties"]["input"]
    return found


def top_schema(model: ModelCase, mode: str) -> dict[str, Any]:
    """The mode's whole request schema, self-contained."""
    return strategy_schema(model.pack, mode, model.registry.schema_registry)
