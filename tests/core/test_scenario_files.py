"""Scenario files: every shipped one loads, every field maps, and errors say where and why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mock_server.core.callbacks import CallbackEffect
from mock_server.core.errors import ConfigError
from mock_server.core.lifecycle import FailCode, Failure
from mock_server.core.scenario_files import (
    load_scenario_file,
    resolve_scenario,
    rule_from_document,
    scenario_from_document,
    shipped_scenarios,
)
from mock_server.core.scenario_problems import Problem, ScenarioInvalid
from mock_server.core.scenarios import (
    Effect,
    FailEffect,
    Match,
    Reject,
    Rule,
    TimelineOverride,
)

SHIPPED = tuple(sorted(shipped_scenarios().items()))

FULL = """\
name: everything
description: Every field a rule may use.
settings:
  rpm: 5
  max_unfinished: 2
rules:
  - name: all-match-fields
    times: 3
    when:
      endpoint: any
      prompt_contains: [Fox, owl]
      prompt_regex: "^a "
      key: vip-key
      model: veo-3-1
      provider: official
      aspect_ratio: "3:2"
      num_images: 2
      image_url: "\\\\.png$"
      request_type: callback
      every_nth: 2
      probability: 0.5
    then:
      fail: {code: NSFW_DETECTED, message: custom words, after_ms: 1500}
      timeline: {pending_ms: 10, processing_ms: 20, never_finish: true}
      reject: {status: 503, message: down}
      latency_ms: 250
      fault: drop
      callback: {drop: true, copies: 2, delay_ms: 5, reorder: true}
  - name: single-word
    when: {prompt_contains: cat}
    then: {fail: {code: CONTENT_VIOLATION}}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_scenario_file(path)
    return caught.value


# -- shipped scenarios -------------------------------------------------------------


@pytest.mark.parametrize(("name", "path"), SHIPPED, ids=[name for name, _ in SHIPPED])
def test_shipped_scenario_loads_under_its_file_name(name: str, path: Path) -> None:
    scenario = load_scenario_file(path)
    assert scenario.name == name
    assert scenario.source == str(path)
    assert len({rule.name for rule in scenario.rules}) == len(scenario.rules)


@pytest.mark.parametrize(("name", "path"), SHIPPED, ids=[name for name, _ in SHIPPED])
def test_shipped_scenario_resolves_by_name(name: str, path: Path) -> None:
    assert resolve_scenario(name) == load_scenario_file(path)


# -- a full file -------------------------------------------------------------------


def test_every_rule_field_is_read(tmp_path: Path) -> None:
    scenario = load_scenario_file(write(tmp_path, FULL))
    assert scenario.name == "everything"
    assert scenario.description == "Every field a rule may use."
    assert dict(scenario.settings) == {"rpm": 5, "max_unfinished": 2}
    rule = scenario.rules[0]
    assert rule.name == "all-match-fields"
    assert rule.times == 3
    assert rule.match == Match(
        endpoint="any",
        prompt_contains=("Fox", "owl"),
        prompt_regex=re.compile("^a "),
        key="vip-key",
        model="veo-3-1",
        provider="official",
        aspect_ratio="3:2",
        num_images=2,
        image_url=re.compile(r"\.png$"),
        request_type="callback",
        every_nth=2,
        probability=0.5,
    )
    assert rule.effect == Effect(
        fail=FailEffect(Failure("NSFW_DETECTED", "custom words"), after_ms=1500),
        timeline=TimelineOverride(pending_ms=10, processing_ms=20, never_finish=True),
        reject=Reject(503, "down"),
        latency_ms=250,
        fault="drop",
        callback=CallbackEffect(drop=True, copies=2, delay_ms=5, reorder=True),
    )


def test_a_single_prompt_word_becomes_a_one_word_tuple(tmp_path: Path) -> None:
    rule = load_scenario_file(write(tmp_path, FULL)).rules[1]
    assert rule.match.prompt_contains == ("cat",)
    assert rule.match.endpoint == "submit"
    assert rule.effect.fail == FailEffect(Failure.of(FailCode.CONTENT_VIOLATION))


def test_a_file_with_no_rules_is_an_empty_scenario(tmp_path: Path) -> None:
    scenario = load_scenario_file(write(tmp_path, "name: quiet\n"))
    assert (scenario.rules, scenario.description, dict(scenario.settings)) == ((), "", {})


def test_rule_from_document_reads_one_rule() -> None:
    rule = rule_from_document({"name": "r", "then": {"reject": {"status": 429}}})
    assert rule == Rule("r", Match(), Effect(reject=Reject(429)))


def test_resolve_scenario_reads_a_path(tmp_path: Path) -> None:
    path = write(tmp_path, "name: mine\n", "mine.yaml")
    assert resolve_scenario(str(path)).name == "mine"


def test_resolve_scenario_refuses_an_unknown_name() -> None:
    with pytest.raises(ConfigError, match="no-such-scenario"):
        resolve_scenario("no-such-scenario")


# -- errors say where and why ------------------------------------------------------


def test_unknown_fail_code_names_file_rule_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "name: s\nrules:\n  - name: oops\n    then: {fail: {code: OOPS}}\n")
    text = str(config_error(path))
    assert str(path) in text
    assert "rules[0] (oops)" in text
    assert "then.fail.code" in text
    assert "OOPS" in text


def test_error_in_a_later_rule_names_its_index(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: s\nrules:\n"
        "  - {name: fine, then: {latency_ms: 1}}\n"
        "  - {name: bad, when: {num_images: 3}, then: {latency_ms: 1}}\n",
    )
    text = str(config_error(path))
    assert "rules[1] (bad).when.num_images" in text


def test_unknown_rule_field_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, "name: s\nrules:\n  - {name: r, when: {colour: red}, then: {fault: drop}}\n"
    )
    text = str(config_error(path))
    assert "rules[0] (r).when" in text
    assert "colour" in text


def test_old_on_key_is_refused_because_yaml_reads_it_as_true(tmp_path: Path) -> None:
    path = write(
        tmp_path, "name: s\nrules:\n  - {name: r, when: {on: status}, then: {fault: drop}}\n"
    )
    assert "rules[0] (r).when" in str(config_error(path))


def test_rule_without_an_effect_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "name: s\nrules:\n  - {name: r, then: {}}\n")
    assert "rules[0] (r).then" in str(config_error(path))


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, "name: s\nrulez: []\n"))
    assert str(error).startswith(str(tmp_path))
    assert "rulez" in str(error)


def test_unknown_scenario_setting_is_named(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, "name: s\nsettings: {port: 1}\n"))
    assert error.field == "settings.port"
    assert error.why.startswith("unknown field (known: rpm, max_unfinished,")


def test_bad_scenario_setting_value_names_the_setting(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, "name: s\nsettings: {rpm: 0}\n"))
    assert error.field == "settings.rpm"


def test_missing_name_is_refused(tmp_path: Path) -> None:
    assert "'name' is a required property" in str(config_error(write(tmp_path, "rules: []\n")))


def test_duplicate_rule_names_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: s\nrules:\n  - {name: twin, then: {latency_ms: 1}}\n"
        "  - {name: twin, then: {latency_ms: 2}}\n",
    )
    error = config_error(path)
    assert error.source == str(path)
    assert "twin" in str(error)


@pytest.mark.parametrize("field", ["prompt_regex", "image_url"])
def test_bad_regex_names_file_and_rule(tmp_path: Path, field: str) -> None:
    path = write(
        tmp_path,
        f"name: s\nrules:\n  - {{name: r, when: {{{field}: '('}}, then: {{fault: drop}}}}\n",
    )
    text = str(config_error(path))
    assert str(path) in text
    assert "rules[0] (r)" in text


@pytest.mark.parametrize("field", ["prompt_regex", "image_url"])
def test_bad_regex_names_the_field(tmp_path: Path, field: str) -> None:
    path = write(
        tmp_path,
        f"name: s\nrules:\n  - {{name: r, when: {{{field}: '('}}, then: {{fault: drop}}}}\n",
    )
    assert f"when.{field}" in str(config_error(path))


@pytest.mark.parametrize(
    "text",
    ["name: [unclosed\n", "name: s\n  rules: - x\n", "\tname: s\n"],
    ids=["unclosed-list", "bad-indent", "tab"],
)
def test_bad_yaml_names_the_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    error = config_error(path)
    assert error.source == str(path)
    assert "not valid YAML" in str(error)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"], ids=["empty", "list", "scalar"])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    error = config_error(path)
    assert error.source == str(path)
    assert error.field == "(top level)"


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    error = config_error(path)
    assert error.source == str(path)
    assert "cannot read" in str(error)


def test_document_errors_name_the_given_source() -> None:
    with pytest.raises(ConfigError, match=r"^admin: rules\[0\]"):
        scenario_from_document({"name": "s", "rules": [{"name": "r"}]}, source="admin")


# -- integers are integers (YAML `2.0` is a float) ---------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            "rules:\n  - {name: r, then: {callback: {copies: 2.0}}}\n",
            "rules[0] (r).then.callback.copies",
        ),
        ("rules:\n  - {name: r, times: 1.0, then: {fault: drop}}\n", "rules[0] (r).times"),
        (
            "rules:\n  - {name: r, then: {reject: {status: 503.0}}}\n",
            "rules[0] (r).then.reject.status",
        ),
        (
            "rules:\n  - {name: r, when: {num_images: 2.0}, then: {fault: drop}}\n",
            "rules[0] (r).when.num_images",
        ),
        (
            "rules:\n  - {name: r, then: {fail: {code: GENERATION_FAILED, after_ms: 1.0e+3}}}\n",
            "rules[0] (r).then.fail.after_ms",
        ),
        ("settings: {rpm: 60.0}\n", "settings.rpm"),
        (
            "settings: {insufficient_credits_status: 402.0}\n",
            "settings.insufficient_credits_status",
        ),
    ],
    ids=[
        "copies",
        "times",
        "reject-status",
        "num-images",
        "after-ms-exponent",
        "rpm",
        "credits-status",
    ],
)
def test_whole_number_float_in_a_yaml_file_names_the_field(
    tmp_path: Path, text: str, field: str
) -> None:
    error = config_error(write(tmp_path, "name: s\n" + text))
    assert error.field == field
    assert "is not of type 'integer'" in error.why


# -- every problem, in file order ---------------------------------------------------

MANY_PROBLEMS = """\
name: s
rules:
  - name: first
    then: {fail: {code: OOPS}}
  - name: second
    when: {prompt_regex: "(", colour: red}
    then: {latency_ms: -1}
  - name: first
    then: {fault: drop}
settings: {rpm: 0}
extra: 1
"""


def test_every_problem_is_reported_in_file_order_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, MANY_PROBLEMS)
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario_file(path)
    problems = caught.value.problems
    assert [(p.line, p.field) for p in problems] == [
        (4, "rules[0] (first).then.fail.code"),
        (6, "rules[1] (second).when.prompt_regex"),
        (6, "rules[1] (second).when.colour"),
        (7, "rules[1] (second).then.latency_ms"),
        (8, "rules[2] (first).name"),
        (10, "settings.rpm"),
        (11, "extra"),
    ]
    assert problems[4].why == "rules[0] has this name too"
    assert problems[1].why.startswith("not a valid regular expression (")
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path}:4: rules[0] (first).then.fail.code: {problems[0].why}"
    assert len(lines) == len(problems)


def test_the_first_problem_is_the_errors_field_and_why(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, MANY_PROBLEMS))
    assert error.field == "rules[0] (first).then.fail.code"
    assert error.why.startswith("'OOPS' is not one of ['CONTENT_VIOLATION',")


def test_a_json_scenario_file_gets_lines_too(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"name": "s",\n "rules": [\n  {"name": "r", "times": 0, "then": {}}]}\n',
        "s.json",
    )
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario_file(path)
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (3, "rules[0] (r).times"),
        (3, "rules[0] (r).then"),
    ]


def test_document_problems_have_no_line() -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        scenario_from_document({"name": "s", "rules": [{"name": "r", "then": {"latency_ms": 1.0}}]})
    assert caught.value.problems == (
        Problem("rules[0] (r).then.latency_ms", "1.0 is not of type 'integer'"),
    )


@pytest.mark.parametrize(
    "pattern", ["a{4294967296}", "(" * 3000 + ")" * 3000], ids=["huge-repeat", "deep"]
)
def test_a_regex_python_cannot_compile_is_a_problem_not_a_crash(pattern: str) -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        rule_from_document({"name": "r", "when": {"image_url": pattern}, "then": {"fault": "drop"}})
    assert caught.value.field == "rule.when.image_url"
