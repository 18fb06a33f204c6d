"""The core's own configuration, and how the shell builds it from Settings."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from mock_server.core.config import CoreConfig, config_fields
from mock_server.core.errors import ConfigError
from mock_server.settings import Settings


def test_every_core_field_is_a_setting_with_the_same_default() -> None:
    defaults = Settings()
    core = CoreConfig()
    assert {name: getattr(core, name) for name in config_fields()} == {
        name: getattr(defaults, name) for name in config_fields()
    }


def test_the_shell_builds_the_config_from_its_settings() -> None:
    settings = Settings(seed=5, rpm=7, balance=Decimal("2.5"), keys=("a",), admin=False)
    config = settings.core_config()
    assert (config.seed, config.rpm, config.balance, config.keys) == (5, 7, Decimal("2.5"), ("a",))
    assert config.shell is settings


def test_overrides_are_checked_and_converted_by_the_shell() -> None:
    config = Settings(seed=5).core_config()
    changed = config.replace(balance="3", rpm=9)
    assert (changed.balance, changed.rpm, changed.seed) == (Decimal(3), 9, 5)
    with pytest.raises(ConfigError, match="rpm"):
        config.replace(rpm=0)
    with pytest.raises(ConfigError, match="unknown setting"):
        config.replace(colour="blue")


def test_a_config_without_a_shell_replaces_plainly() -> None:
    assert CoreConfig().replace(rpm=3) == dataclasses.replace(CoreConfig(), rpm=3)
    with pytest.raises(TypeError):
        CoreConfig().replace(colour="blue")


def test_the_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CoreConfig().rpm = 1  # type: ignore[misc]
