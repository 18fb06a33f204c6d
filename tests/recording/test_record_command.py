"""`apixo-mock record` as a process: it records, redacts flag and env secrets, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import requests

from mock_server.testing.server import MockServer

from .conftest import documents
from .test_proxy import free_port

KEY = "cli-key-5e1f"


def wait_until_accepting(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            threading.Event().wait(0.05)
    raise AssertionError("apixo-mock record never listened")


def test_record_serves_redacts_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with MockServer(api_key=KEY) as mock:
        command = [
            sys.executable, "-m", "mock_server", "record", "--upstream", mock.base_url,
            "--out", str(tmp_path), "--port", str(port), "--redact", "flag-secret",
        ]  # fmt: skip
        env = {**os.environ, "APIXO_RECORD_REDACT": "env-secret"}
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        ) as process:
            try:
                wait_until_accepting(port, process)
                answer = requests.get(
                    f"http://127.0.0.1:{port}/api/v1/apikeys/current-balance",
                    headers={**mock.headers, "X-Note": "flag-secret and env-secret"},
                    timeout=10,
                )
                assert answer.status_code == 200
            finally:
                process.send_signal(signal.SIGTERM)
                code = process.wait(timeout=20)
            output = process.stdout.read().decode() if process.stdout else ""
    assert code == 0
    assert "1 exchanges written" in output
    (document,) = documents(tmp_path)
    text = (tmp_path / "0001-balance.json").read_text()
    for secret in (KEY, "flag-secret", "env-secret"):
        assert secret not in text
    assert document["request"]["headers"]["X-Note"] == "REDACTED and REDACTED"
