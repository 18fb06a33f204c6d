"""Callbacks end to end over loopback: dispatcher + HttpCallbackSender + CallbackReceiver.

The mock clock is frozen and advanced; only the sender's own timeout ever waits in
real time (a fraction of a second).
"""

from __future__ import annotations

import hashlib
import hmac
import socket
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest

from mock_server.core.callbacks import CallbackDispatcher, CallbackEffect, CallbackPolicy
from mock_server.core.clock import MockClock
from mock_server.outbound import HttpCallbackSender
from mock_server.testing.receiver import CallbackReceiver

START = 1_700_000_000_000
WAIT_S = 5.0


def envelope(task_id: str) -> bytes:
    return b'{"code":200,"message":"success","data":{"taskId":"%s","state":"success"}}' % (
        task_id.encode()
    )


@pytest.fixture
def clock() -> MockClock:
    return MockClock(lambda: START, frozen=True)


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as running:
        yield running


@pytest.fixture
def make(clock: MockClock) -> Iterator[Callable[..., CallbackDispatcher]]:
    made: list[CallbackDispatcher] = []

    def make_dispatcher(**policy: Any) -> CallbackDispatcher:
        fields: dict[str, Any] = {"jitter": 0.0, "backoff_s": (1.0,), **policy}
        dispatcher = CallbackDispatcher(clock, HttpCallbackSender(), CallbackPolicy(**fields))
        made.append(dispatcher)
        dispatcher.start()
        return dispatcher

    yield make_dispatcher
    for dispatcher in made:
        dispatcher.close()


def outcomes(dispatcher: CallbackDispatcher, task_id: str) -> list[tuple[Any, ...]]:
    return [(a["outcome"], a["status"], a["error"]) for a in dispatcher.attempts(task_id)]


def run_retries(dispatcher: CallbackDispatcher, clock: MockClock, rounds: int) -> None:
    for _ in range(rounds):
        assert dispatcher.wait_idle(WAIT_S)
        clock.advance(1000)
    assert dispatcher.wait_idle(WAIT_S)


def test_delivers_the_signed_envelope(
    make: Callable[..., CallbackDispatcher], clock: MockClock, receiver: CallbackReceiver
) -> None:
    dispatcher = make(secret="topsecret")
    dispatcher.schedule("t1", receiver.url + "/hook", START + 500, lambda: envelope("t1"))
    clock.advance(500)
    assert receiver.wait_for(1, WAIT_S)
    [got] = receiver.deliveries()
    assert (got.path, got.body, got.json["data"]["taskId"]) == ("/hook", envelope("t1"), "t1")
    timestamp = got.header("X-Apixo-Mock-Timestamp") or ""
    mac = hmac.new(b"topsecret", f"{timestamp}.".encode() + got.body, hashlib.sha256)
    assert got.header("X-Apixo-Mock-Signature") == "sha256=" + mac.hexdigest()
    assert dispatcher.wait_idle(WAIT_S)
    assert outcomes(dispatcher, "t1") == [("delivered", 200, None)]


def test_a_500_is_retried_until_it_is_accepted(
    make: Callable[..., CallbackDispatcher], clock: MockClock, receiver: CallbackReceiver
) -> None:
    receiver.respond_with(status=500, times=2)
    dispatcher = make(retries=3)
    dispatcher.schedule("t1", receiver.url + "/hook", START, lambda: envelope("t1"))
    run_retries(dispatcher, clock, 3)
    assert outcomes(dispatcher, "t1") == [
        ("retrying", 500, None),
        ("retrying", 500, None),
        ("delivered", 200, None),
    ]
    assert len(receiver.deliveries()) == 3


def test_a_receiver_slower_than_the_timeout_is_retried(
    make: Callable[..., CallbackDispatcher], clock: MockClock, receiver: CallbackReceiver
) -> None:
    receiver.respond_with(delay_s=WAIT_S, times=1)
    dispatcher = make(retries=1, timeout_s=0.2)
    dispatcher.schedule("t1", receiver.url + "/hook", START, lambda: envelope("t1"))
    run_retries(dispatcher, clock, 1)
    assert outcomes(dispatcher, "t1") == [
        ("retrying", None, "timeout after 0.2s"),
        ("delivered", 200, None),
    ]


def test_a_refused_connection_is_retried_then_given_up(
    make: Callable[..., CallbackDispatcher], clock: MockClock
) -> None:
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{closed_port.getsockname()[1]}/hook"
        dispatcher = make(retries=2)
        dispatcher.schedule("t1", url, START, lambda: envelope("t1"))
        run_retries(dispatcher, clock, 3)
    assert outcomes(dispatcher, "t1") == [
        ("retrying", None, "connection refused"),
        ("retrying", None, "connection refused"),
        ("failed", None, "connection refused"),
    ]
    assert dispatcher.deliveries(task_id="t1")[0]["state"] == "failed"


def test_a_dns_failure_is_retried_then_given_up(
    make: Callable[..., CallbackDispatcher], clock: MockClock
) -> None:
    dispatcher = make(retries=1)
    dispatcher.schedule("t1", "http://receiver.invalid/hook", START, lambda: envelope("t1"))
    run_retries(dispatcher, clock, 2)
    attempts = dispatcher.attempts("t1")
    assert [a["outcome"] for a in attempts] == ["retrying", "failed"]
    assert all(str(a["error"]).startswith("DNS failure") for a in attempts)


def test_a_hanging_receiver_does_not_delay_another_receiver(
    make: Callable[..., CallbackDispatcher], receiver: CallbackReceiver
) -> None:
    with CallbackReceiver() as hanging:
        hanging.respond_with(delay_s=60)
        dispatcher = make(senders=2, timeout_s=30.0)
        for i in range(4):
            dispatcher.schedule(f"h{i}", hanging.url + "/hook", START, lambda: envelope("h"))
        dispatcher.schedule("ok", receiver.url + "/hook", START, lambda: envelope("ok"))
        assert receiver.wait_for(1, WAIT_S)
        assert hanging.wait_for(1, WAIT_S)
        assert len(hanging.deliveries()) == 1  # only one sender of two may serve an origin
    # closing the hanging receiver ended its requests; the dispatcher closes in `make`


def test_a_hanging_receiver_gets_half_the_senders_connections_and_no_more(
    make: Callable[..., CallbackDispatcher], receiver: CallbackReceiver
) -> None:
    # Eight senders: one thread keeps four POSTs in flight to an origin (post_all).
    with CallbackReceiver() as hanging:
        hanging.respond_with(delay_s=60)
        dispatcher = make(senders=8, timeout_s=30.0)
        for i in range(10):
            dispatcher.schedule(f"h{i}", hanging.url + "/hook", START, lambda: envelope("h"))
        for i in range(10):
            dispatcher.schedule(f"ok{i}", receiver.url + "/hook", START, lambda: envelope("ok"))
        assert receiver.wait_for(10, WAIT_S)
        assert hanging.wait_for(4, WAIT_S)
        assert len(hanging.deliveries()) == 4


def test_many_callbacks_due_at_once_are_each_delivered_once(
    make: Callable[..., CallbackDispatcher], receiver: CallbackReceiver
) -> None:
    dispatcher = make(senders=8)
    for i in range(60):
        dispatcher.schedule(f"t{i}", receiver.url + "/hook", START, partial(envelope, f"t{i}"))
    assert receiver.wait_for(60, WAIT_S)
    assert dispatcher.wait_idle(WAIT_S)
    got = sorted(d.json["data"]["taskId"] for d in receiver.deliveries())
    assert got == sorted(f"t{i}" for i in range(60))
    assert all(outcomes(dispatcher, f"t{i}") == [("delivered", 200, None)] for i in range(60))


def test_duplicate_and_reordered_callbacks_reach_the_receiver_in_order(
    make: Callable[..., CallbackDispatcher], clock: MockClock, receiver: CallbackReceiver
) -> None:
    dispatcher = make(reorder_window_ms=1000)
    url = receiver.url + "/hook"
    for task_id, due in [("A", START + 10), ("B", START + 20)]:
        dispatcher.schedule(
            task_id, url, due, partial(envelope, task_id), CallbackEffect(reorder=True)
        )
    dispatcher.schedule("D", url, START + 5000, lambda: envelope("D"), CallbackEffect(copies=2))
    clock.advance(1010)
    assert receiver.wait_for(2, WAIT_S)
    clock.advance(5000)
    assert receiver.wait_for(4, WAIT_S)
    assert dispatcher.wait_idle(WAIT_S)
    assert [d.json["data"]["taskId"] for d in receiver.deliveries()] == ["B", "A", "D", "D"]
