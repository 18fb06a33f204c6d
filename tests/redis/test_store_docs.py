"""docs/shared-store.md's samples run: its serve commands on a real Redis, its redis-server line."""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from mock_server.settings import load_settings
from mock_server.testing.redis_server import _answers, _free_port, _wait_ready
from tests.e2e.test_serve_process import served

DOC = Path(__file__).parents[2] / "docs" / "shared-store.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
DOC_URL = "redis://127.0.0.1:6379/0"
AUTH = {"Authorization": "Bearer key-docs-0001"}
BODY = {"input": {"mode": "gpt-image-1", "prompt": "a fox"}}


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(DOC.read_text("utf-8")) if lang == language]


def serve_blocks() -> list[list[list[str]]]:
    """Each sh block of serve commands, as one argv (after `apixo-mock serve`) per line."""
    found = []
    for block in blocks("sh"):
        lines = [shlex.split(line) for line in block.splitlines() if "apixo-mock serve" in line]
        if lines:
            found.append([line[2:] for line in lines])
    return found


def without_port(argv: list[str], url: str) -> list[str]:
    """The doc's flags on the test's Redis, the port left to the OS."""
    flags = [url if arg == DOC_URL else arg for arg in argv]
    index = flags.index("--port")
    return flags[:index] + flags[index + 2 :]


@pytest.mark.parametrize("index", range(len(serve_blocks())))
def test_the_serve_samples_run_and_share_what_they_say(redis_url: str, index: int) -> None:
    commands = serve_blocks()[index]
    with ExitStack() as stack:
        mocks = [
            stack.enter_context(served("granian", *without_port(c, redis_url))) for c in commands
        ]
        answer = requests.post(
            f"{mocks[0].base}/api/v1/generateTask/gpt-image-1", json=BODY, headers=AUTH, timeout=10
        )
        task_id = answer.json()["data"]["taskId"]
        found = [
            requests.get(
                f"{mock.base}/api/v1/statusTask/gpt-image-1",
                params={"taskId": task_id},
                headers=AUTH,
                timeout=10,
            ).status_code
            for mock in mocks
        ]
    prefixes = {c[c.index("--store-prefix") + 1] if "--store-prefix" in c else "" for c in commands}
    shared = len(prefixes) == 1  # one prefix: one mock; two prefixes: two mocks
    assert found == ([200] * len(mocks) if shared else [200, 404])


def test_the_yaml_sample_is_valid_settings(tmp_path: Path) -> None:
    (sample,) = blocks("yaml")
    path = tmp_path / "mock.yaml"
    path.write_text(sample, encoding="utf-8")
    settings = load_settings(config=str(path), env={})
    assert (settings.store, settings.store_prefix, settings.workers) == (
        DOC_URL,
        "staging-mock:",
        2,
    )


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")
def test_the_persistent_redis_sample_starts_and_writes_its_append_only_file(
    tmp_path: Path,
) -> None:
    (line,) = [b for b in blocks("sh") if b.startswith("redis-server")]
    argv = shlex.split(line)
    port = _free_port()
    argv[argv.index("--port") + 1] = str(port)
    argv[argv.index("--dir") + 1] = str(tmp_path)
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_ready(process, port)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"SET k v\r\n")
            assert conn.recv(16).startswith(b"+OK")
        assert _answers(port)
        assert any(tmp_path.rglob("*.aof"))
    finally:
        process.terminate()
        process.wait(timeout=10)
