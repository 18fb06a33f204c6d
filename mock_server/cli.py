"""The `apixo-mock` command: flags become Settings; nothing else happens here.

Every setting of `Settings` becomes a `serve` flag, listed in `--help` with
its environment variable and default.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .core.errors import ConfigError
from .settings import CONFIG_ENV, Settings, env_var, flag, load_settings, source_of
from .version import __version__

F = Callable[..., Any]


def _setting_options(command: F) -> F:
    for item in reversed(dataclasses.fields(Settings)):
        meta = item.metadata
        default = item.default
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        help_text = f"{meta['help']} [env: {env_var(item.name)}; default: {shown}]"
        if meta["kind"] == "bool":
            names = f"{flag(item.name)}/--no-{flag(item.name)[2:]}"
            option = click.option(names, item.name, default=None, help=help_text)
        else:
            option = click.option(
                flag(item.name), item.name, default=None, help=help_text, metavar=_metavar(meta)
            )
        command = option(command)
    return command


def _metavar(meta: Any) -> str:
    if meta["choices"]:
        return "|".join(map(str, meta["choices"]))
    return {"int": "N", "optint": "N", "float": "SECONDS", "money": "USD", "list": "A,B"}.get(
        meta["kind"], "TEXT"
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="apixo-mock")
def main() -> None:
    """apixo-mock: a stateful mock of the APIXO gpt-image-1 API."""


@main.command()
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"YAML settings file. [env: {CONFIG_ENV}]",
)
@_setting_options
def serve(config: str | None, **flags: Any) -> None:
    """Serve the mock API (and the admin API under /__admin)."""
    settings = _settings_or_exit(config, flags)
    from .serving import run

    def source(name: str) -> str:
        return source_of(name, config=config, env=os.environ, flags=flags)

    try:
        code = run(settings, source)
    except ConfigError as exc:
        _error(exc, settings.log_format)
        code = 2
    sys.exit(code)


def _settings_or_exit(config: str | None, flags: dict[str, Any]) -> Settings:
    try:
        return load_settings(config=config, env=os.environ, flags=flags)
    except ConfigError as exc:
        # The format asked for, if the mistake is elsewhere.
        wanted = flags.get("log_format") or os.environ.get(env_var("log_format"), "text")
        _error(exc, str(wanted).strip())
        sys.exit(2)


def _error(exc: ConfigError, log_format: str) -> None:
    """The one line a refused start-up prints: text, or a JSON log object."""
    if log_format != "json":
        click.echo(f"apixo-mock: error: {exc}", err=True)
        return
    from .logs import JsonFormatter

    record = logging.makeLogRecord({"name": "apixo_mock", "levelname": "ERROR", "msg": str(exc)})
    click.echo(JsonFormatter().format(record), err=True)


@main.group()
def scenarios() -> None:
    """List, show and validate scenario files."""


@scenarios.command("list")
def scenarios_list() -> None:
    """The scenarios shipped with apixo-mock."""
    from .core.scenario_files import load_scenario_file, shipped_scenarios

    for name, path in shipped_scenarios().items():
        scenario = load_scenario_file(path)
        click.echo(
            f"{name:<22} {scenario.description.splitlines()[0] if scenario.description else ''}"
        )


@scenarios.command("show")
@click.argument("name_or_path")
def scenarios_show(name_or_path: str) -> None:
    """Print a scenario file (a shipped name or a path)."""
    from .core.scenario_files import resolve_scenario

    try:
        scenario = resolve_scenario(name_or_path)
    except ConfigError as exc:
        click.echo(f"apixo-mock: error: {exc}", err=True)
        sys.exit(2)
    source = Path(scenario.source)
    click.echo(source.read_text(encoding="utf-8") if source.is_file() else repr(scenario))


@scenarios.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
def scenarios_validate(paths: tuple[str, ...]) -> None:
    """Check scenario files: every problem, in file order, by file:line, rule and field; exit 2."""
    from .core.scenario_files import load_scenario_file

    failed = False
    for path in paths:
        try:
            scenario = load_scenario_file(Path(path))
        except ConfigError as exc:
            click.echo(f"{exc}", err=True)
            failed = True
        else:
            click.echo(f"{path}: ok ({len(scenario.rules)} rules)")
    if failed:
        sys.exit(2)


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,  # --help lists the suite's options, not click's empty list
    options_metavar="[SUITE OPTIONS] [PYTEST ARGS]...",
)
@click.pass_context
def contract(ctx: click.Context) -> None:
    """Run the contract suite against a target (with no --base-url, the mock in-process).

    Needs the [contract] extra. At the end it lists every contract rule:
    checked, failed, skipped (why) or not run; with -q only failures and skips.
    """
    from contract_tests.extra import advice, missing

    absent = missing()
    if "--help" in ctx.args or "-h" in ctx.args:
        click.echo(_contract_help(ctx, absent))
        return
    if absent:
        click.echo(f"apixo-mock contract: {advice(absent)}", err=True)
        sys.exit(2)
    from contract_tests.runner import main as run_suite

    sys.exit(run_suite(list(ctx.args)))


def _contract_help(ctx: click.Context, absent: list[str]) -> str:
    from contract_tests.extra import advice
    from contract_tests.options import OPTIONS

    formatter = ctx.make_formatter()
    ctx.command.format_usage(ctx, formatter)
    ctx.command.format_help_text(ctx, formatter)
    with formatter.section("Suite options (pytest spells them --apixo-NAME)"):
        formatter.write_dl([option.help_row() for option in OPTIONS])
    with formatter.section("pytest arguments"):
        formatter.write_text("Any other argument goes to pytest: -x, -q, -k EXPR, --junitxml FILE.")
    if absent:
        formatter.write_paragraph()
        formatter.write_text(f"Not installed here: {advice(absent)}")
    return formatter.getvalue().rstrip("\n")


@main.command()
@click.option("--upstream", required=True, help="Base URL of the API to record.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Directory.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, help="Port to listen on (0: any free).")
@click.option(
    "--public-url", default=None, help="Origin the upstream reaches for callbacks [default: bound]."
)
@click.option(
    "--redact",
    "redact_values",
    multiple=True,
    help="A secret to replace by REDACTED in every file (repeatable). [env: APIXO_RECORD_REDACT]",
)
@click.option("--download-results", is_flag=True, help="Save result files into DIR/results/.")
def record(
    upstream: str,
    out: str,
    host: str,
    port: int,
    public_url: str | None,
    redact_values: tuple[str, ...],
    download_results: bool,
) -> None:
    """Run a recording proxy: forward to --upstream, write each exchange to --out."""
    from .recording.exchange import configured_secrets
    from .recording.proxy import Recorder, run_until_stopped

    recorder = Recorder(
        upstream, out, host=host, port=port, public_url=public_url,
        secrets=configured_secrets(redact_values), download_results=download_results,
    )  # fmt: skip
    sys.exit(run_until_stopped(recorder, click.echo))


@main.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--junit", type=click.Path(dir_okay=False), default=None, help="Also write JUnit XML."
)
@click.option(
    "--emit-profile",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a settings file (serve --config) timing tasks like the recording.",
)
def drift(directory: str, output: str, junit: str | None, emit_profile: str | None) -> None:
    """Judge a recording against schemas/ and the contract; exit 1 if the contract broke."""
    try:
        from .recording.report import run_drift
    except ImportError as exc:
        # apixo-mock is on no registry: name the extra, not a package to fetch.
        click.echo(f"apixo-mock: drift needs the [contract] extra installed ({exc})", err=True)
        sys.exit(2)
    sys.exit(run_drift(directory, output, junit, emit_profile, click.echo))


_MODELS_DIR = click.option(
    "--models-dir",
    "folders",
    multiple=True,
    help="Folders of extra packs (repeatable, or comma-separated as for serve).",
)


@main.group()
def models() -> None:
    """List and show the served model packs (the shipped ones plus --models-dir folders)."""


@models.command("list")
@_MODELS_DIR
@click.option(
    "--model-prices",
    "prices",
    default=None,
    help=f"Price overrides as for serve. [env: {env_var('model_prices')}]",
)
def models_list(folders: tuple[str, ...], prices: str | None) -> None:
    """Every model: id, category, modes and the price in force (settings from the environment)."""
    from .core.models.catalogue import summary
    from .core.models.pricing import parse_prices, price_in_force
    from .core.money import to_micros

    flags = {"model_prices": prices, "models_dir": ",".join(folders) or None}
    settings = _settings_or_exit(None, flags)
    overrides = parse_prices(settings.model_prices)
    per_image = to_micros(settings.price_per_image)
    for pack in _registry_or_exit(settings.models_dir):
        about = summary(pack, price_in_force(pack, overrides, per_image))
        modes = ", ".join(about["modes"])
        click.echo(f"{pack.id:<22} {pack.category:<6} {about['price']['text']:<28} {modes}")


@models.command("show")
@click.argument("model_id")
@_MODELS_DIR
def models_show(model_id: str, folders: tuple[str, ...]) -> None:
    """Print a model's manifest.json."""
    import json

    from .core.models.catalogue import manifest

    registry = _registry_or_exit(folders)
    if model_id not in registry:
        click.echo(f"apixo-mock: error: no model {model_id!r} (see: models list)", err=True)
        sys.exit(2)
    click.echo(json.dumps(manifest(registry.get(model_id)), indent=2, ensure_ascii=False))


def _registry_or_exit(folders: tuple[str, ...]) -> Any:
    from .core.models import ModelPackError, ModelRegistry

    try:
        extra = [Path(part) for folder in folders for part in folder.split(",") if part]
        return ModelRegistry.load(extra=extra)
    except (ModelPackError, FileNotFoundError) as exc:
        click.echo(f"apixo-mock: error: {exc}", err=True)
        sys.exit(2)
