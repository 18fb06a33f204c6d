"""Tests of the contract suite itself."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_apixo_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's APIXO_* variables must not steer the suite these tests run."""
    for name in list(os.environ):
        if name.startswith("APIXO_"):
            monkeypatch.delenv(name)
