"""Settings: defaults < YAML file < APIXO_MOCK_* env < flags, and errors that say where."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import click
import pytest

from mock_server.cli import serve
from mock_server.core.errors import ConfigError
from mock_server.settings import (
    CONFIG_ENV,
    Settings,
    env_var,
    flag,
    load_settings,
    setting_names,
    source_of,
)

FIELDS = MappingProxyType({item.name: item for item in dataclasses.fields(Settings)})


def write(tmp_path: Path, text: str, name: str = "mock.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def sample(name: str) -> tuple[str, Any]:
    """A valid text for a setting, unlike its default, and the value it must become."""
    meta = FIELDS[name].metadata
    default = FIELDS[name].default
    kind = meta["kind"]
    if meta["choices"]:
        choice = next(c for c in meta["choices"] if c != default)
        return str(choice), choice
    samples: dict[str, tuple[str, Any]] = {
        "str": ("example", "example"),
        "optstr": ("example", "example"),
        "int": ("7", 7),
        "optint": ("7", 7),
        "float": ("2.5", 2.5),
        "bool": ("false", False) if default else ("true", True),
        "money": ("12.5", Decimal("12.5")),
        "list": ("a, b", ("a", "b")),
        "floats": ("1, 2.5", (1.0, 2.5)),
        "prices": ("suno=0.10, veo-3-1:fast=1", ("suno=0.10", "veo-3-1:fast=1")),
    }
    return samples[kind]


def config_error(**kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(**kwargs)
    return caught.value


# -- defaults ----------------------------------------------------------------------


def test_defaults_follow_the_contracts_decisions() -> None:
    settings = load_settings()
    assert settings == Settings()
    assert (settings.rpm, settings.max_unfinished) == (10_000, 1_000)
    assert settings.balance == Decimal("1000000")
    assert settings.price_per_image == Decimal("0.35")
    assert settings.insufficient_credits_status == 400
    assert settings.accept_nvariants
    assert settings.pending_state
    assert not settings.strict_fields
    assert settings.result_ttl_s == 15 * 24 * 3600
    assert (settings.callback_retries, settings.callback_timeout_s) == (3, 30.0)
    assert (settings.keys, settings.triggers, settings.image_mode) == ((), True, "offline")


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().rpm = 5  # type: ignore[misc]


# -- names derived from the setting ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "variable", "option"),
    [
        ("rpm", "APIXO_MOCK_RPM", "--rpm"),
        ("max_unfinished", "APIXO_MOCK_MAX_UNFINISHED", "--max-unfinished"),
        (
            "insufficient_credits_status",
            "APIXO_MOCK_INSUFFICIENT_CREDITS_STATUS",
            "--insufficient-credits-status",
        ),
    ],
)
def test_env_var_and_flag_come_from_the_name(name: str, variable: str, option: str) -> None:
    assert (env_var(name), flag(name)) == (variable, option)


def test_setting_names_are_the_fields_in_order() -> None:
    assert setting_names() == list(FIELDS)


@pytest.mark.parametrize("name", setting_names())
def test_every_setting_can_be_set_from_env_file_and_flags(name: str, tmp_path: Path) -> None:
    text, value = sample(name)
    path = write(tmp_path, f"{name}: '{text}'\n")
    assert getattr(load_settings(env={env_var(name): text}), name) == value
    assert getattr(load_settings(config=path), name) == value
    assert getattr(load_settings(flags={name: text}), name) == value


@pytest.mark.parametrize("name", setting_names())
def test_every_setting_is_a_serve_option(name: str) -> None:
    options = {param.name: param for param in serve.params if isinstance(param, click.Option)}
    assert flag(name) in options[name].opts


# -- layering ----------------------------------------------------------------------


def test_env_overrides_the_file_which_overrides_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "rpm: 100\nmax_unfinished: 5\n")
    settings = load_settings(config=path, env={"APIXO_MOCK_RPM": "200"})
    assert (settings.rpm, settings.max_unfinished, settings.threads) == (200, 5, Settings().threads)


def test_flags_override_env(tmp_path: Path) -> None:
    path = write(tmp_path, "rpm: 100\n")
    settings = load_settings(config=path, env={"APIXO_MOCK_RPM": "200"}, flags={"rpm": 300})
    assert settings.rpm == 300


def test_flags_left_unset_do_not_override(tmp_path: Path) -> None:
    settings = load_settings(env={"APIXO_MOCK_RPM": "200"}, flags={"rpm": None})
    assert settings.rpm == 200


def test_config_file_can_be_named_in_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "profile: instant\n")
    assert load_settings(env={CONFIG_ENV: str(path)}).profile == "instant"


def test_unrelated_environment_variables_are_ignored() -> None:
    assert load_settings(env={"APIXO_MOCK_NOPE": "1", "RPM": "5"}) == Settings()


def test_file_may_nest_settings_under_a_settings_key(tmp_path: Path) -> None:
    path = write(tmp_path, "settings:\n  rpm: 42\n  max-unfinished: 3\n")
    settings = load_settings(config=path)
    assert (settings.rpm, settings.max_unfinished) == (42, 3)


def test_empty_file_changes_nothing(tmp_path: Path) -> None:
    assert load_settings(config=write(tmp_path, "")) == Settings()


def test_base_settings_are_layered_over() -> None:
    base = Settings(rpm=5, threads=2)
    assert load_settings(base=base, env={"APIXO_MOCK_THREADS": "3"}) == Settings(rpm=5, threads=3)


# -- value parsing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.35", Decimal("0.35")),
        ("1000000", Decimal("1000000")),
        (" 2.000001 ", Decimal("2.000001")),
    ],
)
def test_money_is_parsed_exactly(text: str, value: Decimal) -> None:
    assert load_settings(env={"APIXO_MOCK_BALANCE": text}).balance == value


def test_money_from_a_yaml_float_is_exact(tmp_path: Path) -> None:
    assert load_settings(config=write(tmp_path, "price_per_image: 0.35\n")).price_per_image == (
        Decimal("0.35")
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [("1.0000001", "6 decimals"), ("-1", "negative"), ("abc", "not an amount"), ("NaN", "")],
)
def test_bad_money_is_refused(text: str, why: str) -> None:
    error = config_error(env={"APIXO_MOCK_BALANCE": text})
    assert (error.source, error.field) == ("APIXO_MOCK_BALANCE", "balance")
    assert why in error.why


@pytest.mark.parametrize(
    ("text", "value"), [("a, b", ("a", "b")), (" a ,, b ,", ("a", "b")), ("", ())]
)
def test_lists_are_comma_separated_and_trimmed(text: str, value: tuple[str, ...]) -> None:
    assert load_settings(env={"APIXO_MOCK_KEYS": text}).keys == value


def test_lists_may_be_yaml_lists(tmp_path: Path) -> None:
    path = write(tmp_path, "keys: [key-one, key-two]\n")
    assert load_settings(config=path).keys == ("key-one", "key-two")


def test_empty_yaml_list_setting_means_no_entries(tmp_path: Path) -> None:
    path = write(tmp_path, "keys:\ncallback_allow_hosts:\n")
    settings = load_settings(config=path)
    assert (settings.keys, settings.callback_allow_hosts) == ((), ())


@pytest.mark.parametrize(("text", "value"), [("1, 2.5", (1.0, 2.5)), ("0", (0.0,))])
def test_float_lists_are_parsed(text: str, value: tuple[float, ...]) -> None:
    assert load_settings(env={"APIXO_MOCK_CALLBACK_BACKOFF_S": text}).callback_backoff_s == value


@pytest.mark.parametrize("text", ["", "-1", "1, x"], ids=["empty", "negative", "not-a-number"])
def test_bad_float_lists_are_refused(text: str) -> None:
    error = config_error(env={"APIXO_MOCK_CALLBACK_BACKOFF_S": text})
    assert error.field == "callback_backoff_s"


@pytest.mark.parametrize(
    ("text", "value"), [("yes", True), ("On", True), ("1", True), ("no", False), ("0", False)]
)
def test_booleans_accept_the_usual_words(text: str, value: bool) -> None:
    assert load_settings(env={"APIXO_MOCK_TRIGGERS": text}).triggers is value


@pytest.mark.parametrize("text", ["", "none", "null"])
def test_optional_values_can_be_cleared(text: str) -> None:
    base = Settings(seed=5, public_url="http://x")
    env = {"APIXO_MOCK_SEED": text, "APIXO_MOCK_PUBLIC_URL": text}
    settings = load_settings(base=base, env=env)
    assert (settings.seed, settings.public_url) == (None, None)


def test_choice_given_as_text_becomes_the_number() -> None:
    settings = load_settings(env={"APIXO_MOCK_INSUFFICIENT_CREDITS_STATUS": "402"})
    assert settings.insufficient_credits_status == 402


# -- errors say where and why ------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "text", "name"),
    [
        ("APIXO_MOCK_RPM", "fast", "rpm"),
        ("APIXO_MOCK_RPM", "0", "rpm"),
        ("APIXO_MOCK_RPM", "2.5", "rpm"),
        ("APIXO_MOCK_PROFILE", "slow", "profile"),
        ("APIXO_MOCK_INSUFFICIENT_CREDITS_STATUS", "401", "insufficient_credits_status"),
        ("APIXO_MOCK_FROZEN", "maybe", "frozen"),
        ("APIXO_MOCK_IMAGE_TIMEOUT_S", "soon", "image_timeout_s"),
        ("APIXO_MOCK_PORT", "-1", "port"),
        ("APIXO_MOCK_PORT", "70000", "port"),
    ],
    ids=["not-int", "below-min", "fraction", "choice", "status", "bool", "float", "port", "big"],
)
def test_bad_env_value_names_the_variable_and_the_setting(
    variable: str, text: str, name: str
) -> None:
    error = config_error(env={variable: text})
    assert (error.source, error.field) == (variable, name)
    assert variable in str(error)
    assert name in str(error)
    assert error.why


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("rpm: fast\n", "rpm"),
        ("rpm: 0\n", "rpm"),
        ("threads: true\n", "threads"),
        ("balance: 1.0000001\n", "balance"),
        ("image_mode: cloud\n", "image_mode"),
    ],
    ids=["not-int", "below-min", "bool-for-int", "money", "choice"],
)
def test_bad_file_value_names_the_file_and_the_setting(
    tmp_path: Path, text: str, name: str
) -> None:
    path = write(tmp_path, text)
    error = config_error(config=path)
    assert (error.source, error.field) == (str(path), name)
    assert str(path) in str(error)


def test_unknown_file_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "rpm: 5\nrmp: 6\n")
    error = config_error(config=path)
    assert (error.source, error.field, error.why) == (str(path), "rmp", "unknown setting")


@pytest.mark.parametrize("text", ["- rpm\n- 5\n", "just words\n"], ids=["list", "scalar"])
def test_file_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert config_error(config=path).source == str(path)


def test_empty_settings_key_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "settings:\n")
    assert config_error(config=path).source == str(path)


def test_bad_yaml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "rpm: [1\n")
    error = config_error(config=path)
    assert error.source == str(path)
    assert "not valid YAML" in error.why


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    error = config_error(config=path)
    assert error.source == str(path)
    assert "cannot read" in error.why


def test_bad_flag_names_the_command_line() -> None:
    error = config_error(flags={"rpm": "lots"})
    assert (error.source, error.field) == ("command line", "rpm")


def test_port_above_65535_is_refused_with_the_range() -> None:
    error = config_error(flags={"port": "99999"})
    assert (error.source, error.field) == ("command line", "port")
    assert error.why == "must be at most 65535, got 99999"
    assert load_settings(flags={"port": "65535"}).port == 65535


def test_source_of_names_where_a_setting_came_from(tmp_path: Path) -> None:
    path = str(write(tmp_path, "port: 9001\nrpm: 5\n"))
    env = {"APIXO_MOCK_RPM": "6", "APIXO_MOCK_SEED": "1"}
    flags: dict[str, Any] = {"seed": 2, "host": None}

    def source(name: str) -> str:
        return source_of(name, config=path, env=env, flags=flags)

    assert source("seed") == "command line"
    assert source("rpm") == "APIXO_MOCK_RPM"
    assert source("port") == path
    assert source("host") == "default"
    assert source_of("port", config=None, env={CONFIG_ENV: path}, flags={}) == path


def test_processing_maximum_below_the_minimum_is_refused() -> None:
    env = {"APIXO_MOCK_PROCESSING_MIN_MS": "5000", "APIXO_MOCK_PROCESSING_MAX_MS": "100"}
    assert config_error(env=env).field == "processing_max_ms"


# -- replace -----------------------------------------------------------------------


def test_replace_returns_a_changed_copy() -> None:
    base = Settings()
    changed = base.replace(rpm="25", keys="a,b")
    assert (changed.rpm, changed.keys) == (25, ("a", "b"))
    assert base.rpm == 10_000


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rpm": 0}, "rpm"),
        ({"price_per_image": "-0.01"}, "price_per_image"),
        ({"no_such_setting": 1}, "no_such_setting"),
        ({"processing_min_ms": 5_000, "processing_max_ms": 100}, "processing_max_ms"),
    ],
    ids=["below-min", "negative-money", "unknown", "max-below-min"],
)
def test_replace_validates_like_any_other_source(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings().replace(**changes)
    assert caught.value.field == field
