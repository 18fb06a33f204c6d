"""`apixo-mock contract` runs the installed suite from any directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract_tests.runner import main, pytest_args


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
