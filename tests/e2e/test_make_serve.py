"""`make serve`: the README's invocation runs what it promises; a first run says what it does.

`make -n` prints the recipes without running them: nothing is installed or served.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def dry_run(*args: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def readme_make_serve() -> list[str]:
    """The `make serve PORT=... ARGS=...` sample of the README's first section."""
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    match = re.search(r"`(make serve PORT=[^`]+)`", text)
    assert match, "the README shows make serve PORT=... ARGS=..."
    return shlex.split(match.group(1))


def test_readme_make_serve_passes_port_and_args(tmp_path: Path) -> None:
    argv = readme_make_serve()
    port = next(arg.split("=", 1)[1] for arg in argv if arg.startswith("PORT="))
    extra = next(arg.split("=", 1)[1] for arg in argv if arg.startswith("ARGS="))
    commands = dry_run(*argv[1:], f"VENV={tmp_path / 'venv'}")
    assert f"apixo-mock serve --host 127.0.0.1 --port {port} {extra}" in commands


def test_first_make_serve_says_it_is_installing(tmp_path: Path) -> None:
    commands = dry_run("serve", f"VENV={tmp_path / 'venv'}")  # no venv there: it would install
    echoed = [line for line in commands.splitlines() if line.startswith("echo ")]
    assert any("first run only" in line for line in echoed)
    assert any("installing" in line for line in echoed)
