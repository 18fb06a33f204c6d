"""Over real HTTP: the in-process waitress server, and `apixo-mock serve` under granian."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from mock_server.settings import Settings
from mock_server.testing.server import MockServer

ROOT = Path(__file__).parents[2]
AUTH = {"Authorization": "Bearer YOUR_API_KEY"}


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer(
        Settings(host="127.0.0.1", port=0, access_log=False, frozen=True, seed=3)
    ) as mock:
        yield mock


def docs_example(name: str) -> bytes:
    return (ROOT / "fixtures" / "examples" / name).read_bytes()


def test_docs_flow_over_http(server: MockServer) -> None:
    base = server.base_url
    submitted = requests.post(
        f"{base}/api/v1/generateTask/gpt-image-1",
        data=docs_example("submit-reference-guided.request.json"),
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=10,
    )
    assert submitted.status_code == 200
    task_id = submitted.json()["data"]["taskId"]
    requests.post(f"{base}/__admin/clock/advance", json={"ms": 60_000}, timeout=10)
    status = requests.get(
        f"{base}/api/v1/statusTask/gpt-image-1",
        params={"taskId": task_id},
        headers=AUTH,
        timeout=10,
    ).json()
    urls = json.loads(status["data"]["resultJson"])["resultUrls"]
    assert len(urls) == 4
    assert all(url.startswith(base + "/results/") for url in urls)
    image = Image.open(io.BytesIO(requests.get(urls[0], timeout=10).content))
    assert image.size == (1536, 1024)


def test_drop_effect_closes_the_connection(server: MockServer) -> None:
    rule = {"name": "drop", "when": {"endpoint": "balance"}, "then": {"fault": "drop"}}
    requests.post(
        f"{server.base_url}/__admin/scenarios/active/rules", json={"rule": rule}, timeout=10
    )
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.base_url}/api/v1/apikeys/current-balance", headers=AUTH, timeout=10)
    # The server itself is unharmed.
    requests.delete(f"{server.base_url}/__admin/scenarios/active", json={}, timeout=10)
    ok = requests.get(f"{server.base_url}/api/v1/apikeys/current-balance", headers=AUTH, timeout=10)
    assert ok.status_code == 200


def test_close_stops_every_thread() -> None:
    before = {t.ident for t in threading.enumerate()}
    with MockServer(Settings(host="127.0.0.1", port=0, access_log=False)) as mock:
        requests.get(f"{mock.base_url}/__admin/health", timeout=10)
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert leftover == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_command(port: int, server_name: str, profile: str) -> list[str]:
    """`apixo-mock serve` on a loopback port, quiet, in this interpreter."""
    return [
        sys.executable, "-m", "mock_server", "serve", "--port", str(port),
        "--server", server_name, "--profile", profile, "--no-access-log",
    ]  # fmt: skip


def wait_for_health(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise AssertionError(
                f"serve exited early: {process.stderr.read() if process.stderr else ''!r}"
            )
        try:
            if requests.get(f"{base}/__admin/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            threading.Event().wait(0.05)
    raise AssertionError("serve never became healthy")


@pytest.mark.parametrize("server_name", ["granian", "waitress"])
def test_cli_serve_answers_and_stops_on_sigterm(server_name: str) -> None:
    port = free_port()
    command = serve_command(port, server_name, "instant")
    env = {**os.environ, "APIXO_MOCK_SEED": "9"}
    base = f"http://127.0.0.1:{port}"
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    ) as process:
        try:
            wait_for_health(base, process)
            health = requests.get(f"{base}/__admin/health", timeout=5).json()["data"]
            assert health["settings"]["seed"] == 9
            submitted = requests.post(
                f"{base}/api/v1/generateTask/gpt-image-1",
                data=docs_example("submit-text-to-image.request.json"),
                headers={**AUTH, "Content-Type": "application/json"},
                timeout=5,
            )
            assert submitted.status_code == 200
            assert_drop_breaks_the_answer(base)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=20)
    assert code == 0


def assert_drop_breaks_the_answer(base: str) -> None:
    """Under waitress nothing comes back; under granian the body breaks off after the headers."""
    rule = {"name": "drop", "when": {"endpoint": "balance"}, "then": {"fault": "drop"}}
    requests.post(f"{base}/__admin/scenarios/active/rules", json={"rule": rule}, timeout=5)
    with pytest.raises(requests.RequestException):
        requests.get(f"{base}/api/v1/apikeys/current-balance", headers=AUTH, timeout=5).json()


def test_serve_refuses_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "mock_server", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr
    assert "in use" in result.stderr


@pytest.mark.parametrize("server_name", ["granian", "waitress"])
def test_shutdown_closes_the_service_and_reports_pending_callbacks(server_name: str) -> None:
    port = free_port()
    command = serve_command(port, server_name, "realistic")
    base = f"http://127.0.0.1:{port}"
    body = {
        "request_type": "callback",
        "callback_url": "http://127.0.0.1:9/never-called",
        "input": {"mode": "gpt-image-1", "prompt": "due in half a minute"},
    }
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            wait_for_health(base, process)
            submitted = requests.post(
                f"{base}/api/v1/generateTask/gpt-image-1", json=body, headers=AUTH, timeout=5
            )
            assert submitted.status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert b"callbacks closed with 1 deliveries still pending" in stderr
