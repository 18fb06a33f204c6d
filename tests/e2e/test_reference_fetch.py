"""Reference images in fetch mode: real downloads from a local server, each failure its failCode."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_server.settings import Settings
from mock_server.testing.server import MockServer

IMAGES = Path(__file__).parents[2] / "fixtures" / "images"
AUTH = {"Authorization": "Bearer fetch-key-0001"}


class ImageHandler(SimpleHTTPRequestHandler):
    """Serves a folder, plus /slow (answers after the fetch timeout) and /redirect."""

    release: threading.Event

    def do_GET(self) -> None:
        if self.path == "/slow.png":
            self.release.wait(5)
            return
        if self.path == "/redirect.png":
            self.send_response(302)
            self.send_header("Location", "/reference.png")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class QuietServer(ThreadingHTTPServer):
    """The mock hangs up on purpose (too large, too slow): no traceback for that."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away."""


@pytest.fixture
def image_server(tmp_path: Path) -> Iterator[str]:
    for source in IMAGES.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024))
    (tmp_path / "fake.jpg").write_bytes(b"<html>not an image</html>")
    release = threading.Event()
    handler = type("Handler", (ImageHandler,), {"release": release})
    server = QuietServer(("127.0.0.1", 0), partial(handler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def mock() -> Iterator[MockServer]:
    settings = Settings(
        host="127.0.0.1",
        port=0,
        access_log=False,
        seed=4,
        frozen=True,
        image_mode="fetch",
        image_timeout_s=0.5,
    )
    with MockServer(settings) as server:
        yield server


def outcome(mock: MockServer, urls: list[str]) -> tuple[str, str | None]:
    body = {"input": {"mode": "gpt-image-1", "prompt": "with references", "image_urls": urls}}
    submitted = requests.post(
        f"{mock.base_url}/api/v1/generateTask/gpt-image-1", json=body, headers=AUTH, timeout=10
    )
    assert submitted.status_code == 200, submitted.text
    mock.advance(60)
    status = requests.get(
        f"{mock.base_url}/api/v1/statusTask/gpt-image-1",
        params={"taskId": submitted.json()["data"]["taskId"]},
        headers=AUTH,
        timeout=10,
    ).json()["data"]
    return status["state"], status.get("failCode")


@pytest.mark.parametrize(
    "name", ["reference.jpg", "reference.png", "reference.webp", "redirect.png"]
)
def test_supported_images_succeed(mock: MockServer, image_server: str, name: str) -> None:
    assert outcome(mock, [f"{image_server}/{name}"]) == ("success", None)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("reference.gif", "UNSUPPORTED_FORMAT"),
        ("fake.jpg", "UNSUPPORTED_FORMAT"),
        ("huge.png", "IMAGE_TOO_LARGE"),
        ("missing.png", "INVALID_IMAGE_URL"),
        ("slow.png", "IMAGE_DOWNLOAD_FAILED"),
    ],
)
def test_each_failure_gets_its_fail_code(
    mock: MockServer, image_server: str, path: str, code: str
) -> None:
    assert outcome(mock, [f"{image_server}/{path}"]) == ("failed", code)


def test_refused_connection_is_invalid_image_url(mock: MockServer, image_server: str) -> None:
    closed = f"http://127.0.0.1:{free_closed_port()}/x.png"
    assert outcome(mock, [f"{image_server}/reference.png", closed]) == (
        "failed",
        "INVALID_IMAGE_URL",
    )


def test_invalid_host_fails_in_fetch_mode_too(mock: MockServer) -> None:
    assert outcome(mock, ["https://images.example.invalid/a.png"]) == (
        "failed",
        "INVALID_IMAGE_URL",
    )


def test_failed_reference_task_is_refunded(mock: MockServer, image_server: str) -> None:
    outcome(mock, [f"{image_server}/reference.gif"])
    balance = requests.get(
        f"{mock.base_url}/api/v1/apikeys/current-balance", headers=AUTH, timeout=10
    )
    assert balance.json()["data"] == 1_000_000


def free_closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_image_deny_hosts_blocks_every_spelling_of_a_denied_address(image_server: str) -> None:
    settings = Settings(
        host="127.0.0.1",
        port=0,
        access_log=False,
        seed=4,
        frozen=True,
        image_mode="fetch",
        image_timeout_s=0.5,
        image_deny_hosts=("127.0.0.0/8",),
    )
    port = image_server.rsplit(":", 1)[1]
    with MockServer(settings) as guarded:
        for host in ("127.0.0.1", "127.1", "2130706433", "localhost"):
            url = f"http://{host}:{port}/reference.png"
            assert outcome(guarded, [url]) == ("failed", "INVALID_IMAGE_URL"), host
