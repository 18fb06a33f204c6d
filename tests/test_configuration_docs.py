"""docs/configuration.md lists every setting exactly as the code defines it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mock_server.settings import reference_table

DOC = Path(__file__).parents[1] / "docs" / "configuration.md"


def test_reference_table_is_current() -> None:
    assert reference_table() in DOC.read_text(encoding="utf-8"), (
        "regenerate: python -c 'from mock_server.settings import reference_table; "
        "print(reference_table())'"
    )


def test_documented_errors_are_what_the_cli_prints() -> None:
    env = {**os.environ, "APIXO_MOCK_PROFILE": "slow"}
    command = [sys.executable, "-m", "mock_server", "serve"]
    for argv, environ in ((["--rpm", "abc"], os.environ), ([], env)):
        result = subprocess.run(command + argv, capture_output=True, text=True, env=dict(environ))
        assert result.returncode == 2
        assert result.stderr.strip() in DOC.read_text(encoding="utf-8")


def test_every_flag_is_in_serve_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--help"], capture_output=True, text=True
    )
    for line in reference_table().splitlines()[2:]:
        env_name = line.split("|")[3].strip().strip("`")
        assert env_name in result.stdout.replace("\n", " ").replace("  ", " ")
