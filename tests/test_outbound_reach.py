"""The adapters connect only where the host rules allow: resolved addresses, not host text.

Every receiver and image server here listens on loopback; names are literal
addresses or `localhost`, so nothing needs DNS.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mock_server.core.host_rules import HostRules
from mock_server.outbound import HttpCallbackSender, ImageFetcher
from mock_server.outbound.reach import _ends_here
from mock_server.settings import LINK_LOCAL
from mock_server.testing.receiver import CallbackReceiver

HEADERS = {"Content-Type": "application/json"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
WAIT_S = 5.0
# How the C library also spells 127.0.0.1 (and 0 / 0.0.0.0 reach loopback too).
SPELLINGS = ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "017700000001", "0", "0.0.0.0",
             "localhost"]  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as running:
        yield running


def post(rules: HostRules, url: str) -> Any:
    sender = HttpCallbackSender(rules=rules)
    try:
        return sender.post(url, b"{}", HEADERS, WAIT_S)
    finally:
        sender.abort()


@pytest.mark.parametrize("host", SPELLINGS)
def test_a_denied_network_catches_every_spelling_of_its_addresses(
    receiver: CallbackReceiver, host: str
) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    result = post(HostRules.of(deny=["127.0.0.0/8"]), f"http://{host}:{port}/cb")
    assert result.status is None
    assert result.error.startswith("blocked: host ")
    assert receiver.deliveries() == []


@pytest.mark.parametrize("host", SPELLINGS)
def test_by_default_loopback_receivers_are_reached(receiver: CallbackReceiver, host: str) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    result = post(HostRules.of(deny=LINK_LOCAL), f"http://{host}:{port}/cb")
    assert (result.status, result.error) == (200, None)


def test_local_refuses_this_machine(receiver: CallbackReceiver) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    result = post(HostRules.of(deny=["local"]), f"http://localhost:{port}/cb")
    assert result.error == "blocked: host localhost (127.0.0.1) is not allowed"


def test_an_allow_list_judges_the_address_a_name_resolves_to(receiver: CallbackReceiver) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    assert post(HostRules.of(allow=["10.0.0.0/8"]), f"http://localhost:{port}/cb").error
    result = post(HostRules.of(allow=["127.0.0.0/8"]), f"http://localhost:{port}/cb")
    assert result.status == 200


class _FakeConnected:
    def __init__(self, ours: str, peer: str) -> None:
        self.ours, self.peer = ours, peer

    def getsockname(self) -> tuple[str, int]:
        return self.ours, 40000

    def getpeername(self) -> tuple[str, int]:
        return self.peer, 8080


@pytest.mark.parametrize(
    ("ours", "peer", "here"),
    [("10.1.2.3", "10.1.2.3", True), ("10.1.2.3", "10.9.9.9", False),
     ("127.0.0.1", "127.0.0.5", True), ("::1", "::1", True), ("fe80::1%eth0", "fe80::2", False)],
)  # fmt: skip
def test_a_connection_to_one_of_our_own_addresses_ends_here(
    ours: str, peer: str, here: bool
) -> None:
    assert _ends_here(_FakeConnected(ours, peer)) is here  # type: ignore[arg-type]


# -- fetch mode, redirects included --------------------------------------------------


def serve(host: str, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


class _Image(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def elsewhere() -> Iterator[ThreadingHTTPServer]:
    """An image server on 127.0.0.2, another loopback address (Linux routes all of 127/8)."""
    try:
        server = serve("127.0.0.2", _Image)
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 here")
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def redirector(elsewhere: ThreadingHTTPServer) -> Iterator[str]:
    """A URL on 127.0.0.1 that redirects to `elsewhere`, spelled as one number."""
    target = f"http://2130706434:{elsewhere.server_address[1]}/image.png"  # 127.0.0.2

    class Redirect(_Image):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = serve("127.0.0.1", Redirect)
    yield f"http://127.0.0.1:{server.server_address[1]}/start.png"
    server.shutdown()
    server.server_close()


def test_fetch_checks_the_address_again_after_a_redirect(redirector: str) -> None:
    allowed = ImageFetcher(rules=HostRules.of(deny=LINK_LOCAL))
    assert allowed.fetch(redirector, timeout_s=WAIT_S, max_bytes=1000).kind == "ok"
    guarded = ImageFetcher(rules=HostRules.of(deny=["127.0.0.2"]))
    result = guarded.fetch(redirector, timeout_s=WAIT_S, max_bytes=1000)
    assert (result.kind, result.error) == (
        "unreachable",
        "blocked: host 2130706434 (127.0.0.2) is not allowed",
    )
