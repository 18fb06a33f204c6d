"""`apixo-mock contract` runs the installed suite from any directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from contract_tests.options import OPTIONS
from contract_tests.runner import main, pytest_args
from mock_server import cli


def test_arguments_select_the_package_and_keep_the_callers_config_out() -> None:
    """The plugin, the package by name, an empty ini, and the caller's args last."""
    args = pytest_args(["--apixo-base-url", "http://x", "-x"])
    assert args[:2] == ["-p", "contract_tests.plugin"]
    assert "--pyargs" in args
    assert args[-3:] == ["--apixo-base-url", "http://x", "-x"]


def test_short_option_names_get_the_prefix() -> None:
    """`apixo-mock contract --base-url URL --max-images=4` means the --apixo- options."""
    args = pytest_args(["--base-url", "http://x", "--max-images=4", "-k", "auth"])
    assert args[-5:] == ["--apixo-base-url", "http://x", "--apixo-max-images=4", "-k", "auth"]


def test_runs_from_another_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From an unrelated folder (with its own pytest config), against the in-process mock."""
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --this-option-does-not-exist\n")
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "-k", "test_balance_is_a_bare_number"]) == 0


def test_contract_help_lists_the_suites_options() -> None:
    """`apixo-mock contract --help` shows every suite option with its variable, not pytest's."""
    result = CliRunner().invoke(cli.main, ["contract", "--help"])
    assert result.exit_code == 0, result.output
    for option in OPTIONS:
        assert f"--{option.name}" in result.output
        assert option.env in result.output
    assert "Not installed here" not in result.output  # the extra is installed in this venv


def test_contract_without_the_extra_names_the_extra(tmp_path: Path) -> None:
    """Hypothesis missing: one line naming the extra, exit 2, no traceback from pytest."""
    blocked = "import sys; sys.modules['hypothesis'] = sys.modules['hypothesis_jsonschema'] = None"
    script = f"{blocked}\nfrom mock_server.cli import main\nmain(['contract', '-q'])\n"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "[contract] extra (missing: hypothesis, hypothesis_jsonschema)" in result.stderr
    assert "pip install" in result.stderr
    assert "Error" not in result.stdout + result.stderr  # no ModuleNotFoundError, no traceback
    help_run = subprocess.run(
        [sys.executable, "-c", script.replace("'-q'", "'--help'")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert help_run.returncode == 0
    assert "--base-url URL" in help_run.stdout
    assert "Not installed here" in help_run.stdout
