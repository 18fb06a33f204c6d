"""Self-contained copies of a pack's request schema, for hypothesis-jsonschema.

hypothesis-jsonschema reads drafts 04/06/07 and resolves no `$ref` offline,
so a strategy gets a copy with every `$ref` inlined and the 2020-12 markers
dropped. It also turns each `if`/`then` into a search through negated
branches, which costs seconds per schema; so generation is per branch: the
caller pins `input.mode` and the fields the `input.allOf` conditions test
(`condition_domains` lists their possible values), and the copy keeps only
the rules that apply to that branch. Every value generated from a branch
is valid against the original schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from referencing import Registry

from .manifest import ModelPack

if TYPE_CHECKING:
    from referencing._core import Resolver

_MARKERS = ("$schema", "$id")


class _Missing:
    """Pins a field as absent from the input."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def _inline(node: Any, resolver: Resolver[Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, resolver) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: _inline(value, resolver) for key, value in node.items() if key not in _MARKERS}
    reference = copy.pop("$ref", None)
    if reference is None:
        return copy
    resolved = resolver.lookup(reference)
    return {**_inline(resolved.contents, resolved.resolver), **copy}


def bundled(pack: ModelPack, mode: str, registry: Registry[Any]) -> dict[str, Any]:
    """`mode`'s request schema with every `$ref` inlined and no 2020-12 markers."""
    document = pack.request_schemas[pack.mode(mode).request]
    copy: dict[str, Any] = _inline(document, registry.resolver(base_uri=document["$id"]))
    return copy


def _matches(schema: Mapping[str, Any], value: Any) -> bool | None:
    if set(schema) - {"const", "enum"}:
        return None
    if "const" in schema and schema["const"] != value:
        return False
    return "enum" not in schema or value in schema["enum"]


def _decide(condition: Any, pins: Mapping[str, Any]) -> bool | None:
    """Whether a condition holds under the pins; None when it tests anything unpinned."""
    if not isinstance(condition, dict) or set(condition) - {"properties", "required"}:
        return None
    tested = condition.get("properties", {})
    if any(field not in pins for field in (*tested, *condition.get("required", ()))):
        return None
    if any(pins[field] is MISSING for field in condition.get("required", ())):
        return False
    verdicts = [_matches(s, pins[f]) for f, s in tested.items() if pins[f] is not MISSING]
    return None if None in verdicts else all(verdicts)


def _fold(rules: list[Any], pins: Mapping[str, Any]) -> list[Any]:
    kept: list[Any] = []
    for rule in rules:
        verdict = _decide(rule.get("if"), pins) if "if" in rule else None
        branch = rule if verdict is None else rule.get("then" if verdict else "else")
        if branch is None:
            continue
        branch = dict(branch)
        if verdict is not None or "if" not in rule:
            kept.extend(_fold(branch.pop("allOf", []), pins))
        kept.append(branch)
    return [rule for rule in kept if rule]


def _conditions(rules: list[Any]) -> Iterator[Mapping[str, Any]]:
    for rule in rules:
        if isinstance(rule.get("if"), dict):
            yield rule["if"]
        for key in ("then", "else"):
            yield from _conditions(rule.get(key, {}).get("allOf", []))
        yield from _conditions(rule.get("allOf", []))


def _domain(schema: Any) -> tuple[Any, ...] | None:
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return (schema["const"],)
    if "enum" in schema:
        return tuple(schema["enum"])
    return (True, False) if schema.get("type") == "boolean" else None


def _rules(level: dict[str, Any]) -> list[Any]:
    """A level's `allOf` and its own `if`/`then`/`else`, removed from it as one rule list."""
    rules = list(level.pop("allOf", []))
    if "if" in level:
        rules.append({key: level.pop(key) for key in ("if", "then", "else") if key in level})
    return rules


def _levels(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The two objects whose fields conditions test: the body ("") and its input ("input.")."""
    return {"": schema, "input.": schema["properties"]["input"]}


def condition_domains(
    pack: ModelPack, mode: str, registry: Registry[Any]
) -> dict[str, tuple[Any, ...]]:
    """Fields the mode's conditions test (`request_type`, `input.<name>`) with their values.

    An optional field's values include MISSING.
    """
    domains: dict[str, tuple[Any, ...]] = {}
    for prefix, level in _levels(bundled(pack, mode, registry)).items():
        rules = _fold(_rules(level), {"mode": mode} if prefix else {})
        properties, required = level.get("properties", {}), level.get("required", [])
        for condition in _conditions(rules):
            for field in (*condition.get("properties", {}), *condition.get("required", ())):
                values = _domain(properties.get(field)) if field != "mode" else None
                if values is not None:
                    optional = () if field in required else (MISSING,)
                    domains[prefix + field] = (*values, *optional)
    return domains


def _pin(level: dict[str, Any], pins: Mapping[str, Any]) -> None:
    properties = level.setdefault("properties", {})
    required = level.setdefault("required", [])
    for field, value in pins.items():
        if value is MISSING:
            properties[field] = False
            if field in required:
                required.remove(field)
        else:
            properties[field] = {"const": value}
            if field not in required:
                required.append(field)
    rules = _fold(_rules(level), pins)
    if rules:
        level["allOf"] = rules


def strategy_schema(
    pack: ModelPack, mode: str, registry: Registry[Any], pins: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One branch of `mode`'s request schema, in keywords hypothesis-jsonschema reads fast.

    `pins` fixes fields named as `condition_domains` names them to one value
    each (or MISSING); the rules those values decide are folded away, the
    rest are kept as they are.
    """
    pins = {**(pins or {}), "input.mode": mode}
    schema = bundled(pack, mode, registry)
    for prefix, level in _levels(schema).items():
        own = {key[len(prefix) :]: value for key, value in pins.items() if key.startswith(prefix)}
        _pin(level, {key: value for key, value in own.items() if "." not in key})
    return schema
