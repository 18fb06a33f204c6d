"""`apixo-mock scenarios validate|list|show`: every problem of every file, in file order; exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mock_server.cli import main
from mock_server.core.scenario_files import shipped_scenarios

BROKEN = """\
name: broken
settings: {rpm: 0}
rules:
  - name: slow
    then: {callback: {copies: 2.0}}
  - name: moderation
    then: {fail: {code: OOPS}}
rulez: []
"""


def validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *files: tuple[str, str]
) -> tuple[int, list[str], list[str]]:
    """Run `scenarios validate` on files written to tmp_path, named relative to it."""
    monkeypatch.chdir(tmp_path)
    for name, text in files:
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["scenarios", "validate", *(name for name, _ in files)])
    return result.exit_code, result.stdout.splitlines(), result.stderr.splitlines()


def test_validate_reports_every_problem_in_file_order_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = validate(
        tmp_path, monkeypatch, ("good.yaml", "name: good\n"), ("broken.yaml", BROKEN)
    )
    assert code == 2
    assert out == ["good.yaml: ok (0 rules)"]
    assert [line.split(": ", 2)[:2] for line in err] == [
        ["broken.yaml:2", "settings.rpm"],
        ["broken.yaml:5", "rules[0] (slow).then.callback.copies"],
        ["broken.yaml:7", "rules[1] (moderation).then.fail.code"],
        ["broken.yaml:8", "rulez"],
    ]
    assert err[1].endswith("2.0 is not of type 'integer'")


def test_validate_reports_every_broken_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = validate(
        tmp_path, monkeypatch, ("a.yaml", "name: a\nrulez: 1\n"), ("b.yaml", "rules: []\n")
    )
    assert code == 2
    assert err == [
        "a.yaml:2: rulez: unknown field (known: name, description, settings, rules)",
        "b.yaml:1: (top level): 'name' is a required property",
    ]


def test_validate_passes_good_files_with_exit_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = validate(tmp_path, monkeypatch, ("a.yaml", "name: a\n"))
    assert (code, out, err) == (0, ["a.yaml: ok (0 rules)"], [])


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_every_shipped_scenario_validates(name: str) -> None:
    result = CliRunner().invoke(main, ["scenarios", "validate", str(shipped_scenarios()[name])])
    assert result.exit_code == 0, result.stderr


def test_list_names_every_shipped_scenario() -> None:
    result = CliRunner().invoke(main, ["scenarios", "list"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == list(shipped_scenarios())


def test_show_an_unknown_name_lists_the_known_ones() -> None:
    result = CliRunner().invoke(main, ["scenarios", "show", "no-such"])
    assert result.exit_code == 2
    assert "flaky" in result.stderr
