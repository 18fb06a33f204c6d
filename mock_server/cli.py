"""The `apixo-mock` command: flags become Settings; nothing else happens here.

Every setting of `Settings` becomes a `serve` flag, listed in `--help` with
its environment variable and default.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .core.errors import ConfigError
from .settings import CONFIG_ENV, Settings, env_var, flag, load_settings
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

    try:
        code = run(settings)
    except ConfigError as exc:
        click.echo(f"apixo-mock: error: {exc}", err=True)
        code = 2
    sys.exit(code)


def _settings_or_exit(config: str | None, flags: dict[str, Any]) -> Settings:
    try:
        return load_settings(config=config, env=os.environ, flags=flags)
    except ConfigError as exc:
        click.echo(f"apixo-mock: error: {exc}", err=True)
        sys.exit(2)


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
def models_list(folders: tuple[str, ...]) -> None:
    """Every model: id, category, modes and price rule."""
    from .core.models.catalogue import summary

    for pack in _registry_or_exit(folders):
        about = summary(pack)
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
