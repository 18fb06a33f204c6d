"""Reads scenarios from YAML files and JSON documents, checked against scenario.schema.json.

Errors name the file, the rule and the field, e.g.
`flaky.yaml: rules[2] (slow-tasks).then.fail.code: 'OOPS' is not one of [...]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match

from ..settings import read_yaml
from .callbacks import CallbackEffect
from .errors import ConfigError
from .lifecycle import Failure
from .scenarios import Effect, FailEffect, Match, Reject, Rule, Scenario, TimelineOverride
from .schemas import data_dir, validator


def shipped_scenarios() -> dict[str, Path]:
    """The scenario files that come with apixo-mock, by name."""
    return {path.stem: path for path in sorted(data_dir("scenarios").glob("*.yaml"))}


def load_scenario_file(path: Path) -> Scenario:
    """A scenario from a YAML file, or `ConfigError` naming the file and field."""
    return scenario_from_document(read_yaml(path), source=str(path))


def resolve_scenario(name_or_path: str) -> Scenario:
    """A shipped scenario by name, or a scenario file by path."""
    shipped = shipped_scenarios()
    if name_or_path in shipped:
        return load_scenario_file(shipped[name_or_path])
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml", ".json") or path.exists():
        return load_scenario_file(path)
    known = ", ".join(shipped) or "none"
    raise ConfigError("scenario", name_or_path, f"no such scenario file or shipped name ({known})")


def scenario_from_document(document: Any, source: str = "inline") -> Scenario:
    """A scenario from its JSON/YAML document, validated by the schema."""
    error = best_match(validator("scenario").iter_errors(document))
    if error is not None:
        raise ConfigError(source, _where(document, list(error.absolute_path)), error.message)
    rules = tuple(
        rule_from_document(rule, source, f"rules[{n}]")
        for n, rule in enumerate(document.get("rules", []))
    )
    names = [rule.name for rule in rules]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(source, f"rules ({name})", "two rules share this name")
    return Scenario(
        name=document["name"],
        rules=rules,
        description=document.get("description", ""),
        settings=dict(document.get("settings", {})),
        source=source,
    )


def rule_from_document(document: Any, source: str = "inline", where: str = "rule") -> Rule:
    """One rule from its document (as in a scenario file's `rules` list)."""
    error = best_match(validator("scenario-rule").iter_errors(document))
    if error is not None:
        raise ConfigError(source, where + _suffix(list(error.absolute_path)), error.message)
    try:
        return Rule(
            name=document["name"],
            match=_match(document.get("when", {})),
            effect=_effect(document["then"]),
            times=document.get("times"),
        )
    except (re.error, ValueError) as exc:
        raise ConfigError(source, f"{where} ({document['name']})", str(exc)) from None


def _match(when: Mapping[str, Any]) -> Match:
    contains = when.get("prompt_contains", ())
    return Match(
        endpoint=when.get("endpoint", "submit"),
        prompt_contains=(contains,) if isinstance(contains, str) else tuple(contains),
        prompt_regex=_regex(when, "prompt_regex"),
        key=when.get("key"),
        provider=when.get("provider"),
        aspect_ratio=when.get("aspect_ratio"),
        num_images=when.get("num_images"),
        image_url=_regex(when, "image_url"),
        request_type=when.get("request_type"),
        every_nth=when.get("every_nth"),
        probability=when.get("probability"),
    )


def _regex(when: Mapping[str, Any], field: str) -> re.Pattern[str] | None:
    if field not in when:
        return None
    try:
        return re.compile(when[field])
    except re.error as exc:
        raise ValueError(f"when.{field}: not a valid regular expression ({exc})") from None


def _effect(then: Mapping[str, Any]) -> Effect:
    fail = then.get("fail")
    timeline = then.get("timeline")
    reject = then.get("reject")
    callback = then.get("callback")
    return Effect(
        fail=FailEffect(Failure.of(fail["code"], fail.get("message")), fail.get("after_ms"))
        if fail
        else None,
        timeline=TimelineOverride(**timeline) if timeline else None,
        reject=Reject(reject["status"], reject.get("message")) if reject else None,
        latency_ms=then.get("latency_ms", 0),
        fault=then.get("fault"),
        callback=CallbackEffect(**callback) if callback is not None else None,
    )


def _where(document: Any, path: list[str | int]) -> str:
    """`rules[2] (name).then.fail.code` from a schema error's path."""
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rules = document.get("rules", []) if isinstance(document, dict) else []
        rule = rules[path[1]] if path[1] < len(rules) else {}
        label = f" ({rule['name']})" if isinstance(rule, dict) and "name" in rule else ""
        return f"rules[{path[1]}]{label}" + _suffix(path[2:])
    return _suffix(path).lstrip(".") or "(top level)"


def _suffix(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
