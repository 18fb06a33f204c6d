"""Fixtures shared by the core tests: no Flask, no network, no system clock.

Fixture names are specific (`frozen_clock`, `submit_validator`, ...) so that they
never shadow the web fixtures of tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.core.clock import MockClock
from mock_server.core.validation import SubmitValidator

CORE_START_MS = 1_700_000_000_000


@pytest.fixture
def frozen_clock() -> MockClock:
    """A mock clock frozen at a fixed instant; it moves only when advanced."""
    return MockClock(wall=lambda: CORE_START_MS, frozen=True)


@pytest.fixture(scope="session")
def submit_validator() -> SubmitValidator:
    """The default-dialect validator (compiled once; `parse` is thread-safe)."""
    return SubmitValidator()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's top level (schemas/, fixtures/)."""
    return Path(__file__).resolve().parents[2]
