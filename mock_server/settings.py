"""Settings: one frozen dataclass, layered defaults < YAML file < APIXO_MOCK_* env < CLI flags.

Every setting is described once, in `Settings`' field metadata; the YAML key,
the environment variable and the CLI flag are all derived from its name, so
no setting can lack one of the three. A bad value names its source (file,
variable or flag), the setting and why, and the CLI exits with code 2.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .core.config import LINK_LOCAL as LINK_LOCAL  # re-exported: tests and adapters use it
from .core.config import CoreConfig, config_fields
from .core.errors import ConfigError
from .core.host_rules import HostRules
from .core.yaml_files import read_yaml
from .setting_kinds import CONVERTERS

ENV_PREFIX = "APIXO_MOCK_"
CONFIG_ENV = "APIXO_MOCK_CONFIG"
_MILLION = Decimal(1_000_000)
_PRICE = Decimal("0.35")  # the model page's price per gpt-image-1 image


def _setting(
    default: Any,
    help: str,
    kind: str,
    *,
    choices: tuple[Any, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    meta = {"help": help, "kind": kind, "choices": choices, "minimum": minimum, "maximum": maximum}
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything that configures one mock server. Build with `load_settings` or directly."""

    host: str = _setting("127.0.0.1", "Address to listen on.", "str")
    port: int = _setting(
        8000, "Port to listen on (0: any free port).", "int", minimum=0, maximum=65535
    )
    server: str = _setting("granian", "HTTP server.", "choice", choices=("granian", "waitress"))
    # 3 by measurement on 2 cores (docs/benchmarks.md): the best status p99 at 50
    # connections and less CPU per request than 4 or 8 (fewer threads fight over the
    # GIL), yet a rule's latency_ms in one or two requests holds no other request up.
    threads: int = _setting(3, "Threads serving requests.", "int", minimum=1)
    workers: int = _setting(
        1, "granian worker processes (more than 1 needs a shared --store).", "int", minimum=1
    )
    # Slow clients each hold one connection: 10,000 leaves an honest client room
    # beside 5,000 of them (bench/slow_clients.py); the header timeout frees them.
    connection_limit: int = _setting(
        10_000, "Connections open at once; more wait in the listen backlog.", "int", minimum=1
    )
    header_timeout_s: float = _setting(
        10.0, "Time to send a request's headers, or idle between kept-alive requests.", "float",
        minimum=0.001,
    )  # fmt: skip
    access_log: bool = _setting(True, "Log one line per request.", "bool")
    log_format: str = _setting("text", "Log line format.", "choice", choices=("text", "json"))
    public_url: str | None = _setting(
        None, "Origin for result URLs (default: the request's host).", "optstr"
    )
    keys: tuple[str, ...] = _setting(
        (), "Accepted API keys, comma-separated (empty: any Bearer token).", "list"
    )
    profile: str = _setting(
        "quick", "Timing profile.", "choice", choices=("quick", "realistic", "instant")
    )
    pending_ms: int | None = _setting(
        None, "Time a task stays pending (overrides the profile).", "optint", minimum=0
    )
    processing_min_ms: int | None = _setting(
        None, "Shortest processing time (overrides the profile).", "optint", minimum=0
    )
    processing_max_ms: int | None = _setting(
        None, "Longest processing time (overrides the profile).", "optint", minimum=0
    )
    seed: int | None = _setting(
        None,
        "Seed for every random choice, taskIds included (default: random, and unguessable ids).",
        "optint",
    )
    frozen: bool = _setting(False, "Start with the mock clock frozen.", "bool")
    admin: bool = _setting(True, "Serve the admin API under /__admin.", "bool")
    admin_token: str | None = _setting(
        None, "Token every admin call must send in X-Apixo-Mock-Admin-Token.", "optstr"
    )
    admin_hosts: tuple[str, ...] = _setting(
        (), "Host names the admin API answers to besides loopback and public_url's.", "list"
    )
    result_ttl_s: int = _setting(
        15 * 24 * 3600, "Seconds result images stay downloadable.", "int", minimum=0
    )
    max_tasks: int = _setting(
        100_000,
        "Finished tasks kept; beyond it the earliest finished are forgotten (0: no limit).",
        "int",
        minimum=0,
    )
    task_ttl_s: int = _setting(
        16 * 24 * 3600,
        "Mock-clock seconds a finished task stays readable after it ends (0: forever).",
        "int",
        minimum=0,
    )
    store: str | None = _setting(
        None,
        "Where state lives: this process's memory (default, lost on exit) or redis://HOST:PORT/DB.",
        "optstr",
    )
    store_prefix: str = _setting(
        "apixo-mock:", "Prefix of every key in the shared store (mocks sharing one Redis).", "str"
    )
    triggers: bool = _setting(
        True, "Honour mock:fail:/mock:reject:/mock:hang prompts and .invalid hosts.", "bool"
    )
    scenario: str | None = _setting(
        None, "Scenario to load: a shipped name or a YAML path.", "optstr"
    )
    replay: str | None = _setting(
        None, "Recording folder whose answers matching requests get (apixo-mock record).", "optstr"
    )
    models_dir: tuple[str, ...] = _setting(
        (), "Folders of extra model packs (<id>/manifest.json), comma-separated.", "list"
    )
    image_mode: str = _setting(
        "offline", "How reference images are judged.", "choice", choices=("offline", "fetch")
    )
    image_timeout_s: float = _setting(
        10.0, "Timeout for fetching one reference image.", "float", minimum=0.001
    )
    image_allow_hosts: tuple[str, ...] = _setting(
        (), "Fetch mode: hosts, addresses, CIDRs images may come from (empty: any).", "list"
    )
    image_deny_hosts: tuple[str, ...] = _setting(
        LINK_LOCAL, "Fetch mode: hosts, addresses, CIDRs or 'local' never fetched from.", "list"
    )
    rpm: int = _setting(10_000, "Requests per minute per key.", "int", minimum=1)
    max_unfinished: int = _setting(1_000, "Unfinished tasks per key.", "int", minimum=1)
    balance: Decimal = _setting(_MILLION, "Starting balance of every key, USD.", "money")
    price_per_image: Decimal = _setting(_PRICE, "Price of one image, USD.", "money")
    model_prices: tuple[str, ...] = _setting(
        (), "Prices per model or mode, USD per the pack's unit: MODEL=USD,MODEL:MODE=USD.", "prices"
    )
    insufficient_credits_status: int = _setting(
        400, "HTTP status for insufficient credits.", "choice", choices=(400, 402)
    )
    accept_nvariants: bool = _setting(
        True, "Accept input.nVariants as an alias of num_images.", "bool"
    )
    pending_state: bool = _setting(
        True, "Tasks start pending (false: straight to processing).", "bool"
    )
    strict_fields: bool = _setting(False, "Reject unknown request fields with 400.", "bool")
    # 1 MiB: a maximal submit (a 10,000-character prompt, 5 image URLs) is under 100 KB.
    max_body_bytes: int = _setting(
        1_048_576, "Largest request body accepted (413 beyond).", "int", minimum=1
    )
    cors: str | None = _setting(None, "Allowed browser origin for CORS ('*' for any).", "optstr")
    callback_timeout_s: float = _setting(
        30.0, "Time a callback receiver has to answer.", "float", minimum=0.001
    )
    callback_retries: int = _setting(
        3, "Retries after a failed callback delivery.", "int", minimum=0
    )
    callback_backoff_s: tuple[float, ...] = _setting(
        (1.0, 4.0, 16.0), "Delays before each retry, comma-separated seconds.", "floats"
    )
    callback_secret: str | None = _setting(
        None, "Secret for HMAC-SHA256 callback signatures (default: unsigned).", "optstr"
    )
    callback_senders: int = _setting(
        8,
        "Callbacks in flight at once, at most half of them to one receiver host.",
        "int",
        minimum=1,
    )
    callback_allow_hosts: tuple[str, ...] = _setting(
        (), "Hosts, addresses, CIDRs callbacks may go to (empty: any); *.suffix globs.", "list"
    )
    callback_deny_hosts: tuple[str, ...] = _setting(
        LINK_LOCAL, "Hosts, addresses, CIDRs or 'local' callbacks never go to.", "list"
    )
    journal_size: int = _setting(1_000, "Requests kept in the admin journal.", "int", minimum=0)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, checked like any other source."""
        return load_settings(base=self, flags=changes, source="arguments")

    def core_config(self) -> CoreConfig:
        """The core's configuration; its overrides are checked like `replace`'s."""
        values = {name: getattr(self, name) for name in config_fields()}
        return CoreConfig(**values, derive=self._derive, shell=self)

    def _derive(self, changes: Mapping[str, Any]) -> CoreConfig:
        return self.replace(**changes).core_config()


def setting_names() -> list[str]:
    """Every setting's name, in declaration order."""
    return [f.name for f in fields(Settings)]


def env_var(name: str) -> str:
    """The environment variable of a setting."""
    return ENV_PREFIX + name.upper()


def flag(name: str) -> str:
    """The CLI flag of a setting."""
    return "--" + name.replace("_", "-")


def load_settings(
    *,
    config: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    base: Settings | None = None,
    source: str = "command line",
) -> Settings:
    """Layer a YAML file, environment variables and flags over `base` (default: defaults)."""
    env = {} if env is None else env
    values: dict[str, Any] = {}
    config = config or env.get(CONFIG_ENV)
    if config:
        values.update(_from_file(Path(config)))
    values.update(_from_env(env))
    for name, value in (flags or {}).items():
        if value is not None:
            values[name] = coerce(name, value, source)
    return _build(base or Settings(), values)


def source_of(
    name: str, *, config: str | None, env: Mapping[str, str], flags: Mapping[str, Any]
) -> str:
    """Where `load_settings` took a setting from ("command line", a variable, the file, "default").

    So that errors found later (a busy port, say) name it as a bad value does.
    """
    if flags.get(name) is not None:
        return "command line"
    if env_var(name) in env:
        return env_var(name)
    config = config or env.get(CONFIG_ENV)
    if config and name in _from_file(Path(config)):
        return str(config)
    return "default"


def is_loopback(host: str) -> bool:
    """Whether a host is this machine only: `localhost`, 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _from_file(path: Path) -> dict[str, Any]:
    document = read_yaml(path)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(str(path), "", "must be a mapping of setting: value")
    document = document.get("settings", document)
    if not isinstance(document, dict):
        raise ConfigError(str(path), "settings", "must be a mapping of setting: value")
    return {
        _known(str(path), str(k)): coerce(_known(str(path), str(k)), v, str(path))
        for k, v in document.items()
    }


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        name: coerce(name, env[env_var(name)], env_var(name))
        for name in setting_names()
        if env_var(name) in env
    }


def _known(source: str, key: str) -> str:
    name = key.replace("-", "_")
    if name not in setting_names():
        raise ConfigError(source, key, "unknown setting")
    return name


def _build(base: Settings, values: dict[str, Any]) -> Settings:
    settings = dataclasses.replace(base, **values)
    low, high = settings.processing_min_ms, settings.processing_max_ms
    if low is not None and high is not None and high < low:
        raise ConfigError("settings", "processing_max_ms", "is below processing_min_ms")
    hosts = ("callback_allow_hosts", "callback_deny_hosts", "image_allow_hosts", "image_deny_hosts")
    for name in hosts:
        try:
            HostRules.of(deny=getattr(settings, name))
        except ValueError as exc:
            raise ConfigError("settings", name, str(exc)) from None
    if settings.model_prices and settings.model_prices != base.model_prices:
        _check_models(settings)
    return settings


def _check_models(settings: Settings) -> None:
    """Every model_prices entry names a served model (and one of its modes)."""
    from .core.models import ModelPackError, ModelRegistry
    from .core.models.pricing import unknown_price

    try:
        registry = ModelRegistry.load(extra=[Path(folder) for folder in settings.models_dir])
    except (ModelPackError, FileNotFoundError):
        return  # the service refuses the packs themselves, with their own message
    problem = unknown_price(
        {pack.id: tuple(pack.modes) for pack in registry}, settings.model_prices
    )
    if problem is not None:
        raise ConfigError("settings", "model_prices", problem)


def coerce(name: str, value: Any, source: str) -> Any:
    """Turn a value from a file, variable or flag into the setting's type, or `ConfigError`."""
    meta = _field(name).metadata
    try:
        result = CONVERTERS[meta["kind"]](value)
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise ConfigError(source, name, str(exc) or f"invalid value {value!r}") from None
    _check_range(name, meta, result, source)
    return result


def _check_range(name: str, meta: Mapping[str, Any], value: Any, source: str) -> None:
    choices = meta["choices"]
    if choices and value not in choices:
        raise ConfigError(source, name, f"{value!r} is not one of {', '.join(map(str, choices))}")
    minimum, maximum = meta["minimum"], meta["maximum"]
    if minimum is not None and value is not None and value < minimum:
        raise ConfigError(source, name, f"must be at least {minimum}, got {value}")
    if maximum is not None and value is not None and value > maximum:
        raise ConfigError(source, name, f"must be at most {maximum}, got {value}")
    if meta["kind"] == "money" and value < 0:
        raise ConfigError(source, name, f"must not be negative, got {value}")


def _field(name: str) -> dataclasses.Field[Any]:
    for item in fields(Settings):
        if item.name == name:
            return item
    raise ConfigError("settings", name, "unknown setting")


def reference_table() -> str:
    """Every setting as a Markdown table (docs/configuration.md holds it; a test compares)."""
    rows = [
        "| setting (YAML) | flag | environment variable | default | what |",
        "|---|---|---|---|---|",
    ]
    for item in fields(Settings):
        meta = item.metadata
        default = item.default
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        name = flag(item.name)
        if meta["kind"] == "bool":
            name = f"{name} / --no-{name[2:]}"
        choices = f" One of: {', '.join(map(str, meta['choices']))}." if meta["choices"] else ""
        cells = (f"`{item.name}`", f"`{name}`", f"`{env_var(item.name)}`", f"`{shown}`")
        rows.append(f"| {' | '.join(cells)} | {meta['help']}{choices} |")
    return "\n".join(rows) + "\n"
