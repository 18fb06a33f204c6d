"""Reads scenarios from YAML files and JSON documents, checked against scenario.schema.json.

Every problem is reported, in the order of the document, each naming the
file (and line), the rule and the field, e.g.
`flaky.yaml:12: rules[2] (slow-tasks).then.fail.code: 'OOPS' is not one of [...]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import ValidationError

from .callbacks import CallbackEffect
from .errors import ConfigError
from .lifecycle import Failure
from .scenario_problems import Finding, JsonPath, Problem, ScenarioInvalid, line_finder
from .scenarios import Effect, FailEffect, Match, Reject, Rule, Scenario, TimelineOverride
from .schemas import data_dir, validator
from .validation import document_position, errors_in_order, unexpected_keys
from .yaml_files import read_yaml


def shipped_scenarios() -> dict[str, Path]:
    """The scenario files that come with apixo-mock, by name."""
    return {path.stem: path for path in sorted(data_dir("scenarios").glob("*.yaml"))}


def load_scenario_file(path: Path) -> Scenario:
    """A scenario from a YAML file, or `ScenarioInvalid` listing every problem with its line."""
    document = read_yaml(path)
    findings = scenario_findings(document)
    if findings:
        line = line_finder(path)
        problems = [Problem(_where(document, at), why, line(at)) for at, why in findings]
        raise ScenarioInvalid(str(path), problems)
    return _scenario(document, str(path))


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
    """A scenario from its JSON/YAML document, or `ScenarioInvalid` listing every problem."""
    findings = scenario_findings(document)
    if findings:
        raise ScenarioInvalid(source, [Problem(_where(document, at), why) for at, why in findings])
    return _scenario(document, source)


def rule_from_document(document: Any, source: str = "inline", where: str = "rule") -> Rule:
    """One rule from its document (as in a scenario file's `rules` list)."""
    findings = _schema_findings("scenario-rule", document)
    if findings:
        raise ScenarioInvalid(source, [Problem(where + _suffix(at), why) for at, why in findings])
    return _rule(document)


def scenario_findings(document: Any) -> list[Finding]:
    """Everything wrong with a scenario document, in document order: the schema's say, and names."""
    findings = _schema_findings("scenario", document)
    rules = document.get("rules") if isinstance(document, dict) else None
    if isinstance(rules, list):
        findings += _twin_findings(rules)
    return sorted(findings, key=lambda finding: document_position(document, finding[0]))


def _schema_findings(schema_name: str, document: Any) -> list[Finding]:
    findings: list[Finding] = []
    for error in errors_in_order(validator(schema_name), document):
        at: JsonPath = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            findings += _unknown_fields(at, error)
        else:
            findings.append((at, _why(error)))
    return findings


def _unknown_fields(at: JsonPath, error: ValidationError) -> list[Finding]:
    """One finding per unknown key, at the key itself so it sorts (and gets a line) there."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    known = f"known: {', '.join(schema.get('properties', {}))}"
    return [
        ((*at, key), f"unknown field ({known})")
        if isinstance(key, str)
        # YAML reads a bare on, yes or no as a boolean.
        else (at, f"unknown field {key!r} ({known})")
        for key in unexpected_keys(error)
    ]


def _why(error: ValidationError) -> str:
    if error.validator == "format" and error.cause is not None:
        return f"not a valid regular expression ({error.cause})"
    return str(error.message)


def _twin_findings(rules: list[Any]) -> list[Finding]:
    first: dict[str, int] = {}
    found: list[Finding] = []
    for n, rule in enumerate(rules):
        name = rule.get("name") if isinstance(rule, dict) else None
        if not isinstance(name, str):
            continue
        if name in first:
            found.append((("rules", n, "name"), f"rules[{first[name]}] has this name too"))
        else:
            first[name] = n
    return found


def _scenario(document: dict[str, Any], source: str) -> Scenario:
    return Scenario(
        name=document["name"],
        rules=tuple(_rule(rule) for rule in document.get("rules", [])),
        description=document.get("description", ""),
        settings=dict(document.get("settings", {})),
        source=source,
    )


def _rule(document: dict[str, Any]) -> Rule:
    """A rule from a document the schema passed (regexes included)."""
    return Rule(
        name=document["name"],
        match=_match(document.get("when", {})),
        effect=_effect(document["then"]),
        times=document.get("times"),
    )


def _match(when: Mapping[str, Any]) -> Match:
    contains = when.get("prompt_contains", ())
    return Match(
        endpoint=when.get("endpoint", "submit"),
        prompt_contains=(contains,) if isinstance(contains, str) else tuple(contains),
        prompt_regex=_regex(when, "prompt_regex"),
        key=when.get("key"),
        model=when.get("model"),
        provider=when.get("provider"),
        aspect_ratio=when.get("aspect_ratio"),
        num_images=when.get("num_images"),
        image_url=_regex(when, "image_url"),
        request_type=when.get("request_type"),
        every_nth=when.get("every_nth"),
        probability=when.get("probability"),
    )


def _regex(when: Mapping[str, Any], field: str) -> re.Pattern[str] | None:
    return re.compile(when[field]) if field in when else None


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


def _where(document: Any, path: JsonPath) -> str:
    """`rules[2] (name).then.fail.code` from a schema error's path."""
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rules = document.get("rules", []) if isinstance(document, dict) else []
        rule = rules[path[1]] if path[1] < len(rules) else {}
        label = f" ({rule['name']})" if isinstance(rule, dict) and "name" in rule else ""
        return f"rules[{path[1]}]{label}" + _suffix(path[2:])
    return _suffix(path).lstrip(".") or "(top level)"


def _suffix(path: JsonPath) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
