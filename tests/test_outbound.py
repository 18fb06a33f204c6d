"""The real HTTP adapters against local servers on free loopback ports."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import re
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.core.callbacks import Request, SendResult
from mock_server.outbound import FetchResult, HttpCallbackSender, ImageFetcher, read_answer
from mock_server.outbound.sender import _head_end
from mock_server.testing.receiver import CallbackReceiver

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
WAIT_S = 5.0


class _SiteHandler(BaseHTTPRequestHandler):
    """A route per behaviour the adapters must survive."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        site = cast(_SiteServer, self.server)
        with site.lock:
            site.client_ports.append(self.client_address[1])
        route, _, arg = self.path.lstrip("/").partition("/")
        getattr(self, f"route_{route.replace('-', '_')}", self.route_missing)(site, arg)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def route_missing(self, site: _SiteServer, arg: str) -> None:
        self.answer(404)

    def route_image(self, site: _SiteServer, arg: str) -> None:
        self.answer(200, PNG, Content_Type="image/png")

    def route_status(self, site: _SiteServer, arg: str) -> None:
        self.answer(int(arg), Location="/image")

    def route_redirect(self, site: _SiteServer, arg: str) -> None:
        hops = int(arg)
        self.answer(302, Location=f"/redirect/{hops - 1}" if hops > 1 else "/image")

    def route_relative(self, site: _SiteServer, arg: str) -> None:
        self.answer(301, Location="../image")

    def route_to_ftp(self, site: _SiteServer, arg: str) -> None:
        self.answer(302, Location="ftp://127.0.0.1/image")

    def route_declared_large(self, site: _SiteServer, arg: str) -> None:
        self.answer(200, b"x" * 2000)

    def route_streamed_large(self, site: _SiteServer, arg: str) -> None:
        self.send_response(200)
        self.send_header("Connection", "close")  # no Content-Length: the body ends at close
        self.end_headers()
        for _ in range(50):
            self.wfile.write(b"y" * 100)
        self.close_connection = True

    def route_broken(self, site: _SiteServer, arg: str) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(PNG[:10])
        self.close_connection = True

    def route_hang(self, site: _SiteServer, arg: str) -> None:
        site.release.wait(WAIT_S)
        self.close_connection = True

    def route_slow_body(self, site: _SiteServer, arg: str) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(PNG[:40])
        self.wfile.flush()
        site.release.wait(WAIT_S)
        self.close_connection = True

    def route_chunked(self, site: _SiteServer, arg: str) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"5\r\nhello\r\n0\r\n\r\n")

    def route_large_answer(self, site: _SiteServer, arg: str) -> None:
        self.answer(200, b"z" * 200_000)

    def route_note(self, site: _SiteServer, arg: str) -> None:
        if site.on_arrival is not None:
            site.on_arrival(self.client_address[1], int(arg))
        self.answer(200)

    def route_close_after(self, site: _SiteServer, arg: str) -> None:
        self.answer(200)  # keep-alive by default, but hang up anyway
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SiteHandler)
        self.lock = threading.Lock()
        self.client_ports: list[int] = []
        self.release = threading.Event()
        self.on_arrival: Callable[[int, int], None] | None = None  # (client port, note)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients hanging up mid-answer is what several tests do on purpose."""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@contextlib.contextmanager
def serving(handler: type[_SiteHandler] = _SiteHandler) -> Iterator[_SiteServer]:
    """A `_SiteServer` answering with `handler` on a free port, for the block."""
    server = _SiteServer()
    server.RequestHandlerClass = handler
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(WAIT_S)


@pytest.fixture
def site() -> Iterator[_SiteServer]:
    with serving() as server:
        yield server


@pytest.fixture
def sender() -> Iterator[HttpCallbackSender]:
    adapter = HttpCallbackSender()
    yield adapter
    adapter.abort()  # hang up its keep-alive connections


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback port that is bound but not listening: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/cb"


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as running:
        yield running


HEADERS = {"Content-Type": "application/json", "User-Agent": "apixo-mock"}

# -- HttpCallbackSender ---------------------------------------------------------


@pytest.mark.parametrize("code", [200, 204, 404, 500])
def test_sender_reports_the_receivers_status(
    sender: HttpCallbackSender, receiver: CallbackReceiver, code: int
) -> None:
    receiver.respond_with(status=code)
    result = sender.post(receiver.url + "/cb?x=1", b'{"a":1}', HEADERS, 5.0)
    assert (result.status, result.error, result.ok) == (code, None, 200 <= code < 300)
    [got] = receiver.deliveries()
    assert (got.path, got.body, got.header("user-agent")) == ("/cb?x=1", b'{"a":1}', "apixo-mock")
    assert got.header("Content-Type") == "application/json"


def test_sender_does_not_follow_redirects(sender: HttpCallbackSender, site: _SiteServer) -> None:
    result = sender.post(site.url("/status/302"), b"{}", HEADERS, 5.0)
    assert (result.status, result.ok) == (302, False)
    assert len(site.client_ports) == 1


def test_sender_keeps_one_connection_alive_per_thread(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    for _ in range(3):
        assert sender.post(site.url("/image"), b"{}", HEADERS, 5.0).status == 200
    assert len(set(site.client_ports)) == 1


def test_sender_retries_once_on_a_stale_kept_alive_connection(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    results = [sender.post(site.url("/close-after"), b"{}", HEADERS, 5.0) for _ in range(3)]
    assert [r.status for r in results] == [200, 200, 200]
    assert len(set(site.client_ports)) == 3


def test_sender_hangs_up_after_a_chunked_answer(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    for _ in range(2):
        assert sender.post(site.url("/chunked"), b"{}", HEADERS, 5.0).status == 200
    assert len(set(site.client_ports)) == 2


def test_sender_hangs_up_rather_than_read_a_huge_answer(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    for _ in range(2):
        assert sender.post(site.url("/large-answer"), b"{}", HEADERS, 5.0).status == 200
    assert len(set(site.client_ports)) == 2


def test_sender_writes_host_and_content_length_itself(
    sender: HttpCallbackSender, receiver: CallbackReceiver
) -> None:
    sneaky = {**HEADERS, "Host": "evil.test", "Content-Length": "1"}
    assert sender.post(receiver.url + "/cb", b"12345", sneaky, 5.0).status == 200
    [got] = receiver.deliveries()
    assert (got.header("Host"), got.header("Content-Length")) == (receiver.url[7:], "5")
    assert got.body == b"12345"


def test_sender_writes_each_posts_own_headers_and_length(
    sender: HttpCallbackSender, receiver: CallbackReceiver
) -> None:
    # Request heads are remembered by URL and headers: a change in either is a new head.
    posts = [
        ("/cb", {"X-A": "1"}, b"{}"),
        ("/cb", {"X-B": "2"}, b"[1]"),
        ("/other", {"X-A": "1"}, b""),
    ]
    for path, headers, body in posts * 2:
        assert sender.post(receiver.url + path, body, headers, 5.0).status == 200
    got = receiver.deliveries()
    assert [(d.path, d.header("X-A"), d.header("X-B"), d.body) for d in got] == [
        (path, headers.get("X-A"), headers.get("X-B"), body) for path, headers, body in posts * 2
    ]
    assert [d.header("Content-Length") for d in got] == [str(len(b)) for _, _, b in posts * 2]


def test_sender_refuses_line_breaks_in_headers(
    sender: HttpCallbackSender, receiver: CallbackReceiver
) -> None:
    result = sender.post(receiver.url + "/cb", b"{}", {"X-Evil": "a\r\nX-Injected: 1"}, 5.0)
    assert result.status is None
    assert "line breaks" in (result.error or "")
    assert receiver.deliveries() == []


def test_sender_reports_tls_failures(sender: HttpCallbackSender, site: _SiteServer) -> None:
    result = sender.post(site.url("/image").replace("http:", "https:"), b"{}", HEADERS, 5.0)
    assert result.status is None
    assert result.error


def test_sender_times_out(sender: HttpCallbackSender, site: _SiteServer) -> None:
    result = sender.post(site.url("/hang"), b"{}", HEADERS, 0.2)
    assert (result.status, result.error) == (None, "timeout after 0.2s")
    assert result.latency_ms >= 150


def test_sender_times_out_on_a_kept_alive_connection_with_the_new_timeout(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    assert sender.post(site.url("/image"), b"{}", HEADERS, 30.0).status == 200
    result = sender.post(site.url("/hang"), b"{}", HEADERS, 0.2)
    assert (result.status, result.error) == (None, "timeout after 0.2s")
    assert len(set(site.client_ports)) == 1  # the kept connection, with the shorter timeout


def test_sender_times_out_on_a_stalled_answer_body(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    result = sender.post(site.url("/slow-body"), b"{}", HEADERS, 0.2)
    assert (result.status, result.error) == (None, "timeout after 0.2s")
    assert sender.post(site.url("/image"), b"{}", HEADERS, 5.0).status == 200  # afresh


def test_sender_reuses_what_it_parsed_of_a_url_only_for_that_url(
    sender: HttpCallbackSender, receiver: CallbackReceiver
) -> None:
    for path in ("/a?token=1", "/b", "/a?token=1"):
        assert sender.post(receiver.url + path, b"{}", HEADERS, 5.0).status == 200
    assert [got.path for got in receiver.deliveries()] == ["/a?token=1", "/b", "/a?token=1"]


def test_sender_reports_a_refused_connection(sender: HttpCallbackSender, refused_url: str) -> None:
    result = sender.post(refused_url, b"{}", HEADERS, 5.0)
    assert (result.status, result.error) == (None, "connection refused")


def test_sender_reports_a_dns_failure(sender: HttpCallbackSender) -> None:
    result = sender.post("http://callback.invalid/cb", b"{}", HEADERS, 5.0)
    assert result.status is None
    assert result.error is not None
    assert result.error.startswith("DNS failure")


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "not a url", "http://127.0.0.1:99999/", "http://127.0.0.1/a b"]
)
def test_sender_never_raises_on_a_bad_url(sender: HttpCallbackSender, url: str) -> None:
    result = sender.post(url, b"{}", HEADERS, 1.0)
    assert result.status is None
    assert result.error


def test_abort_breaks_off_a_hanging_request(sender: HttpCallbackSender, site: _SiteServer) -> None:
    results = []
    thread = threading.Thread(
        target=lambda: results.append(sender.post(site.url("/hang"), b"{}", HEADERS, 30.0))
    )
    thread.start()
    while not site.client_ports:  # bounded by the server answering at all
        thread.join(0.01)
        assert thread.is_alive()
    sender.abort()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert [r.error for r in results] == ["sender closed"]
    assert sender.post(site.url("/image"), b"{}", HEADERS, 5.0).error == "sender closed"


class _ClosingHandler(_SiteHandler):
    protocol_version = "HTTP/1.0"  # http.server's default: one answer per connection


def test_sender_delivers_to_a_receiver_that_closes_every_connection(
    sender: HttpCallbackSender,
) -> None:
    with serving(_ClosingHandler) as server:
        results = [sender.post(server.url("/image"), b"{}", HEADERS, 5.0) for _ in range(3)]
    assert [(r.status, r.error) for r in results] == [(200, None)] * 3
    assert len(set(server.client_ports)) == 3


# -- HttpCallbackSender.post_all: several in flight from one thread ---------------


def post_all(
    sender: HttpCallbackSender, urls: list[str], width: int, timeout_s: float = 5.0
) -> list[tuple[int, SendResult]]:
    """`post_all` of a `{}` body to each URL: (index, result) in the order they ended."""
    return post_all_of(sender, [made(url) for url in urls], width, timeout_s)


def post_all_of(
    sender: HttpCallbackSender,
    requests: list[Callable[[], Request]],
    width: int,
    timeout_s: float = 5.0,
) -> list[tuple[int, SendResult]]:
    """`post_all` of `requests`: (index, result) in the order they ended."""
    ended: list[tuple[int, SendResult]] = []
    sender.post_all(requests, timeout_s, lambda index, result: ended.append((index, result)), width)
    return ended


def made(url: str) -> Callable[[], Request]:
    """A request of `post_all`: a `{}` body to `url`."""
    return lambda: (url, b"{}", HEADERS)


def test_post_all_ends_each_request_once_over_at_most_width_connections(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    urls = [site.url("/image"), site.url("/status/204"), site.url("/missing")] * 4
    ended = post_all(sender, urls, width=3)
    assert sorted(index for index, _ in ended) == list(range(12))
    assert {index: result.status for index, result in ended} == {
        index: (200, 204, 404)[index % 3] for index in range(12)
    }
    assert len(site.client_ports) == 12
    assert len(set(site.client_ports)) == 3  # kept alive, and no more than `width`


@pytest.mark.parametrize("by", ["done", "flush"])
def test_post_all_settles_each_answer_before_its_connection_carries_another(
    sender: HttpCallbackSender, site: _SiteServer, by: str
) -> None:
    # The server sees, as each request arrives, which ones had ended by then: handed to
    # `done`, or (by="flush") handed to `done` and then flushed.
    answered: list[int] = []
    ended: list[int] = []
    seen: list[tuple[int, int, frozenset[int]]] = []  # (client port, index, ended before)

    def done(index: int, result: SendResult) -> None:
        assert result.status == 200
        with site.lock:
            (ended if by == "done" else answered).append(index)

    def flush() -> None:
        with site.lock:
            ended.extend(answered)
            answered.clear()

    def arrived(port: int, index: int) -> None:
        with site.lock:
            seen.append((port, index, frozenset(ended)))

    site.on_arrival = arrived
    sender.post_all([made(site.url(f"/note/{i}")) for i in range(20)], 5.0, done, 4, flush)
    assert sorted(ended) == list(range(20))
    by_port: dict[int, list[tuple[int, frozenset[int]]]] = {}
    for port, index, before in seen:
        by_port.setdefault(port, []).append((index, before))
    assert 1 < len(by_port) <= 4
    for arrivals in by_port.values():
        for (earlier, _), (_, before) in itertools.pairwise(arrivals):
            assert earlier in before  # its answer was handed to `done` before this was sent


def test_post_all_times_out_a_hanging_request_without_holding_up_the_others(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    urls = [site.url("/hang"), *[site.url("/image")] * 6]
    ended = post_all(sender, urls, width=2, timeout_s=2.0)
    assert [index for index, _ in ended][-1] == 0  # the others went on meanwhile
    assert {index: (r.status, r.error) for index, r in ended} == {
        0: (None, "timeout after 2s"),
        **dict.fromkeys(range(1, 7), (200, None)),
    }


def test_post_all_retries_once_on_a_stale_kept_alive_connection(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    ended = post_all(sender, [site.url("/close-after")] * 6, width=2)
    assert sorted((index, r.status) for index, r in ended) == [(i, 200) for i in range(6)]
    assert len(set(site.client_ports)) == 6


@pytest.mark.parametrize("path", ["/chunked", "/streamed-large", "/close-after"])
def test_post_all_hangs_up_where_an_answer_leaves_its_connection_unusable(
    sender: HttpCallbackSender, site: _SiteServer, path: str
) -> None:
    ended = post_all(sender, [site.url(path)] * 5 + [site.url("/image")] * 3, width=2)
    assert sorted((index, r.status) for index, r in ended) == [(i, 200) for i in range(8)]
    assert len(set(site.client_ports[:5])) == 5  # a connection of its own each


def test_post_all_delivers_to_a_receiver_that_closes_every_connection(
    sender: HttpCallbackSender,
) -> None:
    with serving(_ClosingHandler) as server:
        ended = post_all(sender, [server.url("/image")] * 6, width=3)
    assert sorted((index, r.status, r.error) for index, r in ended) == [
        (i, 200, None) for i in range(6)
    ]
    assert len(set(server.client_ports)) == 6


def test_post_all_reports_what_failed_before_it_was_sent(
    sender: HttpCallbackSender, site: _SiteServer, refused_url: str
) -> None:
    urls = [refused_url, "not a url", site.url("/image").replace("http:", "https:")]
    ended = dict(post_all(sender, [*urls, site.url("/image")], width=2))
    assert ended[0].error == "connection refused"
    assert (ended[1].status, bool(ended[1].error)) == (None, True)
    assert (ended[2].status, bool(ended[2].error)) == (None, True)  # https: sent alone
    assert (ended[3].status, ended[3].error) == (200, None)


def test_post_all_drops_the_connections_left_awaiting_answers_when_done_raises(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    def done(index: int, result: SendResult) -> None:
        raise RuntimeError("a caller's bug")

    with pytest.raises(RuntimeError):
        sender.post_all([made(site.url("/image"))] * 2, 5.0, done, 2)
    # The answer left unread on the other connection is not taken for the next one's.
    assert [
        sender.post(site.url(f"/status/{c}"), b"{}", HEADERS, 5.0).status for c in (201, 202)
    ] == [201, 202]
    ended = post_all(sender, [site.url("/status/203"), site.url("/status/204")], width=2)
    assert sorted((index, r.status) for index, r in ended) == [(0, 203), (1, 204)]


@pytest.mark.parametrize("width", [1, 3])
def test_post_all_makes_each_request_as_it_sends_it_and_a_failing_one_fails(
    sender: HttpCallbackSender, site: _SiteServer, width: int
) -> None:
    made_at: list[int] = []  # how many requests had ended when each was made

    def make(index: int) -> Callable[[], Request]:
        def request() -> Request:
            made_at.append(len(ended))
            if index == 2:
                raise ValueError("no body")
            return site.url("/image"), b"{}", HEADERS

        return request

    ended: list[tuple[int, SendResult]] = []
    sender.post_all([make(i) for i in range(8)], 5.0, lambda i, r: ended.append((i, r)), width)
    results = dict(ended)
    assert (results[2].status, results[2].error) == (None, "ValueError: no body")
    assert all(results[i].status == 200 for i in range(8) if i != 2)
    assert made_at[-1] >= 8 - width  # the last was made once the others were under way


def test_post_all_sends_https_requests_one_at_a_time_each_flushed_before_the_next(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    events: list[str] = []
    https = site.url("/image").replace("http:", "https:")  # the TLS handshake fails
    sender.post_all(
        [made(https)] * 3,
        5.0,
        lambda index, result: events.append(f"done {index} {result.status}"),
        3,
        lambda: events.append("flush"),
    )
    assert events == ["done 0 None", "flush", "done 1 None", "flush", "done 2 None", "flush"]


def test_post_all_keeps_its_connections_when_a_request_fails_before_it_is_sent(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    def bad() -> Request:
        return site.url("/image"), b"{}", {"X-Evil": "a\r\nX-Injected: 1"}

    good = made(site.url("/image"))
    ended = dict(post_all_of(sender, [good, good, bad, good, good], width=2))
    assert [ended[i].status for i in range(5)] == [200, 200, None, 200, 200]
    assert "line breaks" in (ended[2].error or "")
    assert len(set(site.client_ports)) == 2  # both kept alive throughout


def test_abort_breaks_off_every_request_in_flight_of_post_all(
    sender: HttpCallbackSender, site: _SiteServer
) -> None:
    ended: list[tuple[int, SendResult]] = []
    thread = threading.Thread(
        target=lambda: ended.extend(post_all(sender, [site.url("/hang")] * 5, 2, 30.0))
    )
    thread.start()
    while len(site.client_ports) < 2:  # bounded by the server answering at all
        thread.join(0.01)
        assert thread.is_alive()
    sender.abort()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert sorted(index for index, _ in ended) == list(range(5))
    assert {r.error for _, r in ended} == {"sender closed"}


class _RecordingSocket(socket.socket):
    """A TCP socket that notes which of its options were set before each read."""

    def __init__(self) -> None:
        super().__init__(socket.AF_INET, socket.SOCK_STREAM)
        self.events: list[str] = []

    def setsockopt(self, *args: Any) -> None:
        self.events.append(f"setsockopt {args[1]}")
        super().setsockopt(*args)

    def recv(self, size: int, *args: Any) -> bytes:
        self.events.append("recv")
        return super().recv(size, *args)


@contextlib.contextmanager
def _answering() -> Iterator[tuple[_RecordingSocket, socket.socket]]:
    """Our recording socket, connected, and the receiver's end of the connection."""
    with socket.create_server(("127.0.0.1", 0)) as server, _RecordingSocket() as ours:
        ours.settimeout(WAIT_S)
        ours.connect(server.getsockname())
        theirs, _ = server.accept()
        with theirs:
            yield ours, theirs


def _reads_after(events: list[str]) -> list[str]:
    """What was done just before each read but the first."""
    return [events[i - 1] for i, event in enumerate(events) if event == "recv"][1:]


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="TCP_QUICKACK is Linux only")
def test_read_answer_acknowledges_at_once_once_an_answer_came_in_part() -> None:
    # A receiver that writes head and body apart (http.server does) has Nagle hold
    # the body until the head is ACKed; a delayed ACK cost 40 ms per callback.
    quickack = f"setsockopt {socket.TCP_QUICKACK}"
    with _answering() as (ours, theirs):
        theirs.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
        threading.Timer(0.01, theirs.sendall, args=(b"body",)).start()
        assert read_answer(ours) == (200, True)
    assert ours.events[0] == "recv"  # the first read: nothing to acknowledge yet
    assert _reads_after(ours.events)
    assert set(_reads_after(ours.events)) == {quickack}


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="TCP_QUICKACK is Linux only")
def test_read_answer_acknowledges_at_once_after_an_interim_answer() -> None:
    quickack = f"setsockopt {socket.TCP_QUICKACK}"
    with _answering() as (ours, theirs):
        theirs.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        final = b"HTTP/1.1 204 No Content\r\n\r\n"
        threading.Timer(0.01, theirs.sendall, args=(final,)).start()
        assert read_answer(ours) == (204, True)
    assert ours.events[0] == "recv"
    assert set(_reads_after(ours.events)) == {quickack}


def test_read_answer_reads_a_whole_answer_in_one_call_without_socket_options() -> None:
    with _answering() as (ours, theirs):
        theirs.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        assert read_answer(ours) == (200, True)
    assert ours.events == ["recv"]


# -- reading an answer -----------------------------------------------------------


def answer_to(
    *pieces: bytes,
    close: bool = True,
    known: dict[bytes, tuple[int, int | None, bool]] | None = None,
) -> tuple[int, bool]:
    """What read_answer makes of `pieces` sent over a socket pair (then closed)."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(WAIT_S)
        for piece in pieces:
            theirs.sendall(piece)
        if close:
            theirs.shutdown(socket.SHUT_WR)
        return read_answer(ours, known)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", (200, True)),
        (b"HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n", (500, True)),
        (b"HTTP/1.1 204 No Content\r\n\r\n", (204, True)),
        (b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", (200, True)),
        (b"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", (200, True)),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
         (201, True)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
         (200, False)),
        (b"HTTP/1.1 200 OK\r\n\r\n{}", (200, False)),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", (200, False)),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", (200, False)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}EXTRA", (200, False)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", (200, False)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n{}", (200, False)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}", (200, False)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", (200, False)),
        (b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}", (200, True)),
        (b"HTTP/1.1 200 OK\r\nCONTENT-LENGTH:2\r\n\r\n{}", (200, True)),
        (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}",
         (200, True)),
        (b"HTTP/1.1 200 OK\r\nX-Note: transfer-encoding\r\nContent-Length: 2\r\n\r\n{}",
         (200, True)),
        (b"HTTP/1.1 200 OK\r\nX-Content-Length: 9\r\n\r\n{}", (200, False)),
    ],
    ids=["length", "500", "204", "no-reason", "bare-lf", "100-continue", "chunked",
         "close-delimited", "connection-close", "http-1.0", "extra-bytes", "short-body",
         "huge-body", "bad-length", "two-lengths", "space-before-colon", "upper-case",
         "keep-alive", "word-in-a-value", "length-in-another-name"],
)  # fmt: skip
def test_read_answer(raw: bytes, expected: tuple[int, bool]) -> None:
    assert answer_to(raw) == expected


def test_read_answer_remembers_each_head_as_what_it_parsed_to() -> None:
    # One memory for answers that differ in a header each: none is read as another.
    known: dict[bytes, tuple[int, int | None, bool]] = {}
    answers = [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", (200, True)),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", (200, False)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}", (200, False)),
        (b"HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\n{}", (503, True)),
    ]
    for _ in range(2):
        for raw, expected in answers:
            assert answer_to(raw, known=known) == expected
    assert len(known) == len(answers)


@given(st.binary(max_size=16) | st.lists(st.sampled_from([b"\r", b"\n", b"a"])).map(b"".join))
def test_the_end_of_a_head_is_where_the_first_empty_line_ends(buffer: bytes) -> None:
    # CRLF or bare LF line ends, mixed as a sloppy receiver may: the regex is the reference.
    found = re.search(rb"\r?\n\r?\n", buffer)
    assert _head_end(buffer) == (None if found is None else (found.start(), found.end()))


def test_read_answer_waits_for_pieces() -> None:
    head, body = b"HTTP/1.1 200 OK\r\nContent-Len", b"gth: 4\r\n\r\nab"
    assert answer_to(head, body, b"cd", close=False) == (200, True)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", http.client.RemoteDisconnected),
        (b"HTTP/1.1 200 OK\r\nContent-", http.client.IncompleteRead),
        (b"SMTP ready\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 abc OK\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 66_000, http.client.LineTooLong),
        (b"HTTP/1.1 100 Continue\r\n\r\n" * 9, http.client.HTTPException),
    ],
    ids=["nothing", "cut-off", "not-http", "bad-status", "huge-head", "endless-interim"],
)
def test_read_answer_rejects(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        answer_to(raw)


def test_read_answer_times_out() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(0.05)
        with pytest.raises(TimeoutError):
            read_answer(ours)


# -- ImageFetcher ---------------------------------------------------------------


def fetch(url: str, *, timeout_s: float = 5.0, max_bytes: int = 1000) -> FetchResult:
    return ImageFetcher().fetch(url, timeout_s=timeout_s, max_bytes=max_bytes)


def test_fetch_ok_keeps_the_head_and_counts_bytes(site: _SiteServer) -> None:
    result = fetch(site.url("/image"), max_bytes=10_000)
    assert result == FetchResult("ok", 200, PNG[:32], len(PNG), None)


@pytest.mark.parametrize(
    ("path", "code"),
    [("/status/404", 404), ("/status/500", 500), ("/status/304", 304), ("/x", 404)],
)
def test_fetch_non_2xx_is_unreachable(site: _SiteServer, path: str, code: int) -> None:
    result = fetch(site.url(path))
    assert (result.kind, result.status) == ("unreachable", code)


def test_fetch_refused_is_unreachable(refused_url: str) -> None:
    assert fetch(refused_url).kind == "unreachable"


def test_fetch_dns_failure_is_unreachable() -> None:
    result = fetch("http://images.invalid/cat.png")
    assert result.kind == "unreachable"
    assert (result.error or "").startswith("DNS failure")


def test_fetch_no_answer_is_a_timeout(site: _SiteServer) -> None:
    assert fetch(site.url("/hang"), timeout_s=0.2).kind == "timeout"


def test_fetch_stalled_body_is_a_timeout(site: _SiteServer) -> None:
    result = fetch(site.url("/slow-body"), timeout_s=0.3)
    assert (result.kind, result.head, result.size) == ("timeout", PNG[:32], 40)


def test_fetch_body_broken_off_is_a_timeout(site: _SiteServer) -> None:
    result = fetch(site.url("/broken"))
    assert (result.kind, result.size) == ("timeout", 10)


def test_fetch_trusts_a_large_content_length(site: _SiteServer) -> None:
    result = fetch(site.url("/declared-large"), max_bytes=1000)
    assert (result.kind, result.size, result.head) == ("too_large", 2000, b"")


def test_fetch_stops_reading_past_max_bytes(site: _SiteServer) -> None:
    result = fetch(site.url("/streamed-large"), max_bytes=1000)
    assert (result.kind, result.size) == ("too_large", 1001)


def test_fetch_follows_five_redirects_but_not_six(site: _SiteServer) -> None:
    assert fetch(site.url("/redirect/5"), max_bytes=10_000).kind == "ok"
    result = fetch(site.url("/redirect/6"), max_bytes=10_000)
    assert (result.kind, result.error) == ("unreachable", "more than 5 redirects")


def test_fetch_follows_a_relative_redirect(site: _SiteServer) -> None:
    assert fetch(site.url("/relative/x"), max_bytes=10_000).kind == "ok"


def test_fetch_refuses_a_redirect_off_http(site: _SiteServer) -> None:
    assert fetch(site.url("/to-ftp")).kind == "unreachable"
