"""CallbackReceiver: records deliveries, answers as programmed, stops cleanly."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from mock_server.testing import receiver as receiver_module
from mock_server.testing.receiver import CallbackReceiver

WAIT_S = 5.0


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as running:
        yield running


def post(url: str, body: bytes = b'{"code":200}', timeout_s: float = WAIT_S) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout_s)
    try:
        connection.request("POST", parts.path or "/", body, {"X-Test": "yes"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def receiver_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "callback-receiver"]


def test_records_path_headers_body_and_json(receiver: CallbackReceiver) -> None:
    assert post(receiver.url + "/hooks/1", b'{"data":{"taskId":"t1"}}') == 200
    [got] = receiver.deliveries()
    assert (got.method, got.path, got.body) == ("POST", "/hooks/1", b'{"data":{"taskId":"t1"}}')
    assert got.json == {"data": {"taskId": "t1"}}
    assert got.header("x-test") == got.headers["X-Test"] == "yes"
    assert got.header("missing") is None
    assert got.received_at > 0


def test_json_is_none_for_a_body_that_is_not_json(receiver: CallbackReceiver) -> None:
    post(receiver.url + "/", b"not json")
    assert receiver.deliveries()[0].json is None


def test_queued_answers_come_first_then_the_sticky_one(receiver: CallbackReceiver) -> None:
    receiver.respond_with(status=500, times=2)
    receiver.respond_with(status=404, times=1)
    receiver.respond_with(status=202)
    assert [post(receiver.url + "/") for _ in range(5)] == [500, 500, 404, 202, 202]


def test_a_delayed_answer_holds_the_response_back(receiver: CallbackReceiver) -> None:
    receiver.respond_with(delay_s=30, times=1)
    with pytest.raises(TimeoutError):
        post(receiver.url + "/", timeout_s=0.2)
    assert len(receiver.deliveries()) == 1  # recorded on arrival, before answering
    assert post(receiver.url + "/") == 200


def test_wait_for_is_bounded(receiver: CallbackReceiver) -> None:
    assert receiver.wait_for(0, 0.01)
    assert not receiver.wait_for(1, 0.01)
    post(receiver.url + "/")
    assert receiver.wait_for(1, WAIT_S)


def test_clear_forgets_deliveries_and_answers(receiver: CallbackReceiver) -> None:
    receiver.respond_with(status=500)
    post(receiver.url + "/")
    receiver.clear()
    assert receiver.deliveries() == []
    assert post(receiver.url + "/") == 200


def test_close_releases_a_hanging_answer_and_joins_threads() -> None:
    receiver = CallbackReceiver()
    receiver.start()
    receiver.respond_with(delay_s=60)
    statuses: list[int | str] = []

    def call() -> None:
        try:
            statuses.append(post(receiver.url + "/", timeout_s=WAIT_S))
        except (OSError, http.client.HTTPException) as exc:
            statuses.append(type(exc).__name__)

    client = threading.Thread(target=call)
    client.start()
    assert receiver.wait_for(1, WAIT_S)
    receiver.close()
    client.join(WAIT_S)
    assert statuses == ["RemoteDisconnected"]  # hung up at once, not after 60 s
    assert receiver_threads() == []
    receiver.close()  # idempotent


def test_url_needs_a_running_receiver() -> None:
    receiver = CallbackReceiver()
    with pytest.raises(RuntimeError):
        _ = receiver.url
    with receiver:
        assert receiver.is_running
        assert receiver.url.startswith("http://127.0.0.1:")
        with pytest.raises(RuntimeError):
            receiver.start()
    assert not receiver.is_running


def test_two_receivers_get_different_ports() -> None:
    with CallbackReceiver() as first, CallbackReceiver() as second:
        assert first.url != second.url
        post(first.url + "/")
        assert (len(first.deliveries()), len(second.deliveries())) == (1, 0)


def test_reads_a_chunked_body(receiver: CallbackReceiver) -> None:
    parts = urlsplit(receiver.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=WAIT_S)
    try:
        connection.request("POST", "/chunked", body=iter([b'{"a":', b"1}"]), encode_chunked=True)
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    assert receiver.deliveries()[0].json == {"a": 1}


def test_kept_alive_answers_are_not_held_back_by_nagle(
    receiver: CallbackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection has Nagle off and stays open across answers.

    With Nagle on, a kept-alive answer waits for the client's delayed ACK (40 ms
    per callback); bench/receiver.py measures the round trips this buys.
    """
    nodelay: list[int] = []
    setup = receiver_module._Handler.setup

    def spy(handler: receiver_module._Handler) -> None:
        setup(handler)
        nodelay.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(receiver_module._Handler, "setup", spy)
    parts = urlsplit(receiver.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=WAIT_S)
    try:
        for _ in range(20):
            connection.request("POST", "/", body=b"{}")
            connection.getresponse().read()
    finally:
        connection.close()
    assert len(receiver.deliveries()) == 20
    assert len(nodelay) == 1  # one connection carried all 20
    assert nodelay[0] != 0
