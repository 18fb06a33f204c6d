"""Single mutations of a model's body, read off its request schema's constraints.

gpt-image-1 has its readable table (mutations.py); for any other model each
property of the mode's schema gives the ways it can be wrong: left out when
required, of another JSON type, outside its enum, shorter or longer than its
length bounds, below or above its range, with too few or too many items, not
matching its pattern. Every mutation is checked against the pack's own
schema: only those the pack refuses are kept, so each one owes a 400.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from .model_bodies import input_schema, is_valid, plain_body, top_schema
from .models import ModelCase, case
from .mutations import GOOD_URL, MISSING, Mutation

SCHEMA_RULE = "submit.schema-400"
# Fields whose rule reads the same for every model; the rest break the model's schema.
_RULES: Mapping[str, str] = MappingProxyType(
    {
        "request_type": "submit.request-type-400",
        "provider": "submit.provider-400",
        "callback_url": "submit.callback-url-400",
    }
)
_CALLBACK = ((("request_type",), '"callback"'),)
_WRONG_TYPES: Mapping[str, tuple[Any, ...]] = MappingProxyType(
    {
        "string": (42,),
        "integer": ("2", 2.5),
        "number": ("0.5",),
        "boolean": ("yes",),
        "array": ("not a list",),
        "object": ("not an object",),
    }
)
_NOT_MATCHING = ("not a url", "!", "")


def schema_mutations(model: ModelCase, mode: str | None = None) -> tuple[Mutation, ...]:
    """Every single mutation of the plain body (or of `mode`'s schema) the pack refuses."""
    return _mutations(model.id, mode or plain_body(model)["input"]["mode"])


@cache
def _mutations(model_id: str, mode: str) -> tuple[Mutation, ...]:
    model = case(model_id)
    body = plain_body(model)
    if body["input"]["mode"] != mode:
        body = {"input": {"mode": mode}}
    found = [*_envelope_mutations(), *_field_mutations(model, mode, body)]
    refused = [item for item in found if not is_valid(model, item.apply(body))]
    return tuple(_unique(refused))


def _unique(items: list[Mutation]) -> Iterator[Mutation]:
    seen: set[str] = set()
    for item in items:
        if item.label not in seen:
            seen.add(item.label)
            yield item


def _envelope_mutations() -> tuple[Mutation, ...]:
    """`input` and `input.mode`, which every model's body has."""
    return (
        Mutation("submit.input-400", "input missing", ("input",)),
        Mutation("submit.input-400", "input a string", ("input",), '"a cat"'),
        Mutation("submit.input-400", "input an array", ("input",), "[]"),
        Mutation("submit.mode-400", "input.mode missing", ("input", "mode")),
        Mutation("submit.mode-400", "input.mode unknown", ("input", "mode"), '"no-such-mode"'),
        Mutation("submit.mode-400", "input.mode a number", ("input", "mode"), "1"),
    )


def _field_mutations(model: ModelCase, mode: str, body: Mapping[str, Any]) -> Iterator[Mutation]:
    given = input_schema(model, mode)
    required = set(given.get("required", ()))
    for name, schema in given.get("properties", {}).items():
        if name != "mode":
            sample = body["input"].get(name)
            yield from _property(("input", name), schema, name in required, sample)
    top = top_schema(model, mode)["properties"]
    for name in ("request_type", "provider"):
        yield from _property((name,), top[name], False, None)
    rule = _RULES["callback_url"]
    yield Mutation(rule, "callback_url missing", ("callback_url",), MISSING, (), _CALLBACK)
    for label, value in (("not a URL", "not a url"), ("a number", 123)):
        yield Mutation(
            rule, f"callback_url {label}", ("callback_url",), json.dumps(value), (), _CALLBACK
        )


def _property(
    path: tuple[str, ...], schema: Mapping[str, Any], required: bool, sample: Any
) -> Iterator[Mutation]:
    dotted = ".".join(path)
    rule = _RULES.get(dotted, SCHEMA_RULE)

    def make(label: str, value: Any) -> Mutation:
        return Mutation(rule, f"{dotted} {label}", path, json.dumps(value))

    if required:
        yield Mutation(rule, f"{dotted} missing", path)
    kind = schema.get("type")
    for value in _WRONG_TYPES.get(kind, ()) if isinstance(kind, str) else ():
        yield make(f"of a wrong type ({type(value).__name__})", value)
    if "enum" in schema or "const" in schema:
        yield make("outside its enum", _outside(schema))
    yield from (make(label, value) for label, value in _bounds(schema, sample))


def _outside(schema: Mapping[str, Any]) -> Any:
    allowed = list(schema.get("enum", [schema.get("const")]))
    if schema.get("type") in ("integer", "number"):
        return next(n for n in range(-3, 10_000) if n not in allowed)
    if schema.get("type") == "boolean":
        return next(value for value in (True, False) if value not in allowed)
    return "apixo-contract-unknown"


def _bounds(schema: Mapping[str, Any], sample: Any) -> Iterator[tuple[str, Any]]:
    if schema.get("minLength", 0) > 0:
        yield "empty", ""
    if "maxLength" in schema:
        yield f"{schema['maxLength'] + 1} characters", "x" * (schema["maxLength"] + 1)
    if "pattern" in schema and "enum" not in schema:
        pattern = re.compile(schema["pattern"])
        bad = next((text for text in _NOT_MATCHING if not pattern.search(text)), None)
        if bad is not None:
            yield "not matching its pattern", bad
    if "minimum" in schema:
        yield "below its minimum", schema["minimum"] - 1
    if "maximum" in schema:
        yield "above its maximum", schema["maximum"] + 1
    yield from _items(schema, sample)


def _items(schema: Mapping[str, Any], sample: Any) -> Iterator[tuple[str, Any]]:
    if schema.get("type") != "array":
        return
    item = sample[0] if isinstance(sample, list) and sample else GOOD_URL
    if schema.get("minItems", 0) > 0:
        yield "with no items", []
    if "maxItems" in schema:
        yield f"with {schema['maxItems'] + 1} items", [item] * (schema["maxItems"] + 1)
    if schema.get("items", {}).get("type") == "string":
        yield "with a number item", [123]
