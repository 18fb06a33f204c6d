"""The callback dispatcher on a frozen mock clock with a scripted sender: no network, no sleeps."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pytest

from mock_server.core.callbacks import (
    CallbackDispatcher,
    CallbackEffect,
    CallbackPolicy,
    Request,
    SendResult,
    check_callback_url,
    sign,
)
from mock_server.core.clock import MockClock
from mock_server.core.stores.memory import AttemptLog

START = 1_700_000_000_000
URL = "http://receiver.test/hook"
OTHER_URL = "http://other.test/hook"
OK = SendResult(200, None, 1.0)
WAIT_S = 5.0


def status(code: int) -> SendResult:
    return SendResult(code, None, 1.0)


def error(text: str) -> SendResult:
    return SendResult(None, text, 1.0)


def body_of(task_id: str) -> Callable[[], bytes]:
    return lambda: b'{"code":200,"message":"success","data":{"taskId":"%s"}}' % task_id.encode()


@dataclass(frozen=True, slots=True)
class Call:
    url: str
    body: bytes
    headers: dict[str, str]
    time_ms: int


class FakeSender:
    """Records every POST with the mock time, answers from a per-URL script (then 200)."""

    def __init__(self, clock: MockClock) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._scripts: dict[str, deque[SendResult]] = {}
        self._hanging: set[str] = set()
        self.release = threading.Event()

    def script(self, url: str, *results: SendResult) -> None:
        self._scripts[url] = deque(results)

    def hang(self, url: str) -> None:
        """POSTs to `url` block until `release` is set (at most WAIT_S)."""
        self._hanging.add(url)

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        with self._cond:
            self._calls.append(Call(url, body, dict(headers), self._clock.now_ms()))
            self._cond.notify_all()
            script = self._scripts.get(url)
            result = script.popleft() if script else OK
        if url in self._hanging:
            self.release.wait(WAIT_S)
            return error("timeout")
        return result

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def times(self) -> list[int]:
        return [call.time_ms - START for call in self.calls]

    def wait_for(self, predicate: Callable[[list[Call]], bool]) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self._calls), WAIT_S)


class FakeMultiplexingSender(FakeSender):
    """A FakeSender with `post_all`, as the real sender's: each round makes and POSTs up to
    `width` requests, then ends them last first (a real round ends them as they answer),
    then flushes."""

    def post_all(
        self,
        requests: Sequence[Callable[[], Request]],
        timeout_s: float,
        done: Callable[[int, SendResult], None],
        width: int,
        flush: Callable[[], None] = lambda: None,
    ) -> None:
        for first in range(0, len(requests), width):
            ended: list[tuple[int, SendResult]] = []
            for index in range(first, min(first + width, len(requests))):
                try:
                    url, body, headers = requests[index]()
                except Exception as exc:
                    ended.append((index, SendResult(None, f"{type(exc).__name__}: {exc}", 0.0)))
                else:
                    ended.append((index, self.post(url, body, headers, timeout_s)))
            for index, result in reversed(ended):
                done(index, result)
            flush()


MakeDispatcher = Callable[..., CallbackDispatcher]


@pytest.fixture
def clock() -> MockClock:
    return MockClock(lambda: START, frozen=True)


@pytest.fixture(params=["post", "post_all"])
def sender(clock: MockClock, request: pytest.FixtureRequest) -> Iterator[FakeSender]:
    """Each test twice: with a sender that POSTs one at a time, and with one that keeps
    several in flight from a thread (the dispatcher then takes its other path)."""
    fake = FakeSender(clock) if request.param == "post" else FakeMultiplexingSender(clock)
    yield fake
    fake.release.set()


@pytest.fixture
def make(clock: MockClock, sender: FakeSender) -> Iterator[MakeDispatcher]:
    """Started dispatchers with jitter off unless asked; all closed afterwards."""
    made: list[CallbackDispatcher] = []

    def make_dispatcher(*, seed: int = 0, **policy: Any) -> CallbackDispatcher:
        dispatcher = CallbackDispatcher(
            clock, sender, CallbackPolicy(**{"jitter": 0.0, **policy}), seed=seed
        )
        made.append(dispatcher)
        dispatcher.start()
        return dispatcher

    yield make_dispatcher
    for dispatcher in made:
        dispatcher.close()


def settle(dispatcher: CallbackDispatcher) -> None:
    assert dispatcher.wait_idle(WAIT_S)


def state(dispatcher: CallbackDispatcher, task_id: str) -> str:
    return str(dispatcher.deliveries(task_id=task_id)[0]["state"])


# -- when a callback goes out -------------------------------------------------


def test_nothing_is_sent_before_the_due_time(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START + 1000, body_of("t1"))
    clock.advance(999)
    settle(dispatcher)
    assert sender.calls == []
    assert state(dispatcher, "t1") == "scheduled"
    clock.advance(1)
    settle(dispatcher)
    assert sender.times() == [1000]
    assert state(dispatcher, "t1") == "delivered"


def test_advancing_a_frozen_clock_by_an_hour_delivers_at_once(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START + 3_600_000, body_of("t1"))
    clock.advance(3_600_000)
    settle(dispatcher)  # bounded wait on a Condition: delivered with no real hour passing
    assert sender.times() == [3_600_000]


def test_running_clock_delivers_when_due() -> None:
    clock = MockClock()
    sender = FakeSender(clock)
    with CallbackDispatcher(clock, sender, CallbackPolicy()) as dispatcher:
        due = clock.now_ms() + 20
        dispatcher.schedule("t1", URL, due, body_of("t1"))
        assert sender.wait_for(lambda calls: len(calls) == 1)
        assert sender.calls[0].time_ms >= due


def test_advancing_a_running_clock_wakes_the_scheduler() -> None:
    clock = MockClock()
    sender = FakeSender(clock)
    with CallbackDispatcher(clock, sender, CallbackPolicy()) as dispatcher:
        dispatcher.schedule("t1", URL, clock.now_ms() + 3_600_000, body_of("t1"))
        clock.advance(3_600_000)
        assert sender.wait_for(lambda calls: len(calls) == 1)


def test_body_is_built_at_send_time(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    current = {"state": "processing"}
    dispatcher = make()
    dispatcher.schedule("t1", URL, START + 10, lambda: current["state"].encode())
    current["state"] = "success"
    clock.advance(10)
    settle(dispatcher)
    assert [call.body for call in sender.calls] == [b"success"]


def test_sends_json_headers_and_no_signature_without_secret(
    make: MakeDispatcher, sender: FakeSender
) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    settle(dispatcher)
    assert sender.calls[0].headers == {
        "Content-Type": "application/json",
        "User-Agent": "apixo-mock",
    }


def test_signs_timestamp_dot_body_with_hmac_sha256(
    make: MakeDispatcher, sender: FakeSender
) -> None:
    dispatcher = make(secret="s3cret")
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    settle(dispatcher)
    call = sender.calls[0]
    timestamp = call.headers["X-Apixo-Mock-Timestamp"]
    assert timestamp == str(START // 1000)  # unix seconds on the mock clock
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + call.body, hashlib.sha256)
    assert call.headers["X-Apixo-Mock-Signature"] == "sha256=" + expected.hexdigest()
    assert sign("s3cret", int(timestamp), call.body) == call.headers["X-Apixo-Mock-Signature"]


# -- success, failure, retries ------------------------------------------------


@pytest.mark.parametrize("code", [200, 201, 204, 299])
def test_any_2xx_is_a_delivery(make: MakeDispatcher, sender: FakeSender, code: int) -> None:
    sender.script(URL, status(code))
    dispatcher = make()
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    settle(dispatcher)
    assert state(dispatcher, "t1") == "delivered"
    assert [a["outcome"] for a in dispatcher.attempts("t1")] == ["delivered"]


@pytest.mark.parametrize(
    "failure",
    [status(302), status(400), status(500), status(503), error("timeout after 30s"),
     error("connection refused"), error("DNS failure: Name or service not known")],
    ids=["302", "400", "500", "503", "timeout", "refused", "dns"],
)  # fmt: skip
def test_every_failure_kind_is_retried_then_succeeds(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender, failure: SendResult
) -> None:
    sender.script(URL, failure, OK)
    dispatcher = make()
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    settle(dispatcher)
    assert state(dispatcher, "t1") == "delivering"
    clock.advance(1000)
    settle(dispatcher)
    attempts = dispatcher.attempts("t1")
    assert [a["outcome"] for a in attempts] == ["retrying", "delivered"]
    assert (attempts[0]["status"], attempts[0]["error"]) == (failure.status, failure.error)
    assert state(dispatcher, "t1") == "delivered"


def test_retries_wait_for_each_backoff_on_the_mock_clock(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    sender.script(URL, *[status(500)] * 10)
    dispatcher = make(retries=3, backoff_s=(1.0, 4.0, 16.0))
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    for step, expected in [
        (0, [0]), (999, [0]), (1, [0, 1000]), (3999, [0, 1000]), (1, [0, 1000, 5000]),
        (15_999, [0, 1000, 5000]), (1, [0, 1000, 5000, 21_000]), (10**7, [0, 1000, 5000, 21_000]),
    ]:  # fmt: skip
        clock.advance(step)
        settle(dispatcher)
        assert sender.times() == expected, f"after advancing {step} ms"


def test_gives_up_after_the_last_retry(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    sender.script(URL, *[error("connection refused")] * 10)
    dispatcher = make(retries=2, backoff_s=(1.0,))
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    for _ in range(5):
        settle(dispatcher)
        clock.advance(1000)
    settle(dispatcher)
    assert sender.times() == [0, 1000, 2000]  # the last backoff value repeats
    assert [a["outcome"] for a in dispatcher.attempts("t1")] == ["retrying", "retrying", "failed"]
    summary = dispatcher.deliveries(task_id="t1")[0]
    assert (summary["state"], summary["attempts"]) == ("failed", 3)
    assert summary["lastError"] == "connection refused"
    assert dispatcher.pending_count() == 0


def test_jitter_is_seeded_and_within_its_fraction(clock: MockClock) -> None:
    def retry_times(seed: int) -> list[int]:
        sender = FakeSender(clock)
        sender.script(URL, *[status(500)] * 5)
        policy = CallbackPolicy(retries=1, backoff_s=(10.0,), jitter=0.1)
        with CallbackDispatcher(clock, sender, policy, seed=seed) as dispatcher:
            for i in range(5):
                dispatcher.schedule(f"t{i}", URL, START, body_of(f"t{i}"))
            settle(dispatcher)
            rows = dispatcher.deliveries()
        return [int(row["nextAttemptTime"]) - START for row in rows]

    first, again, other = retry_times(1), retry_times(1), retry_times(2)
    assert first == again
    assert first != other
    assert all(9000 <= delay <= 11_000 for delay in first + other)


def test_a_failing_body_counts_as_a_failed_attempt(
    make: MakeDispatcher, sender: FakeSender
) -> None:
    def broken() -> bytes:
        raise RuntimeError("no such task")

    dispatcher = make(retries=0)
    dispatcher.schedule("t1", URL, START, broken)
    dispatcher.schedule("t2", URL, START, body_of("t2"))  # due together: sent in one round
    settle(dispatcher)
    assert [call.body for call in sender.calls] == [body_of("t2")()]
    [attempt] = dispatcher.attempts("t1")
    assert (attempt["outcome"], attempt["error"]) == ("failed", "RuntimeError: no such task")
    assert state(dispatcher, "t2") == "delivered"
    assert dispatcher.background_errors == 1


def test_one_advance_replays_every_retry_in_order(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    # Retries count from the previous attempt's due time, so a single advance
    # past t+21 s makes all four attempts (t, t+1, t+5, t+21) with no more advances.
    sender.script(URL, status(500), status(500), status(500), OK)
    dispatcher = make(retries=3, backoff_s=(1.0, 4.0, 16.0))
    dispatcher.schedule("t1", URL, START + 1000, body_of("t1"))
    clock.advance(31_000)
    settle(dispatcher)
    attempts = dispatcher.attempts("t1")
    assert [a["outcome"] for a in attempts] == ["retrying"] * 3 + ["delivered"]
    assert [a["dueTime"] - START for a in attempts] == [1000, 2000, 6000, 22_000]
    assert sender.times() == [31_000] * 4
    assert state(dispatcher, "t1") == "delivered"


def test_a_retry_on_a_running_clock_counts_from_the_previous_due_time(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    sender.script(URL, status(500))
    dispatcher = make(retries=1, backoff_s=(10.0,))
    dispatcher.schedule("t1", URL, START + 1000, body_of("t1"))
    clock.advance(5000)  # the attempt due at +1 s goes out late, at +5 s
    settle(dispatcher)
    assert dispatcher.deliveries(task_id="t1")[0]["nextAttemptTime"] == START + 11_000


# -- redelivery never doubles a delivery ------------------------------------------


def test_a_successful_redelivery_cancels_the_pending_retry(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    sender.script(URL, status(500))  # then 200
    dispatcher = make(retries=3, backoff_s=(10.0,))
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    settle(dispatcher)
    assert state(dispatcher, "t1") == "delivering"  # a retry waits for +10 s
    dispatcher.redeliver("t1")
    settle(dispatcher)
    assert state(dispatcher, "t1") == "delivered"
    assert dispatcher.deliveries(task_id="t1")[0]["nextAttemptTime"] is None
    clock.advance(3_600_000)
    settle(dispatcher)
    assert sender.times() == [0, 0]  # the first attempt and the redelivery, no retry
    assert dispatcher.pending_count() == 0


def test_a_successful_retry_cancels_a_retrying_redelivery(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    sender.script(URL, status(500), status(500))  # the first attempt, the redelivery
    dispatcher = make(retries=3, backoff_s=(10.0,))
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    settle(dispatcher)
    clock.advance(5000)
    dispatcher.redeliver("t1")  # fails too: its retry is due at +15 s
    settle(dispatcher)
    clock.advance(5000)  # the first chain's retry (+10 s) succeeds
    settle(dispatcher)
    clock.advance(60_000)
    settle(dispatcher)
    assert sender.times() == [0, 5000, 10_000]
    assert state(dispatcher, "t1") == "delivered"


def test_copies_still_retry_each_until_every_copy_is_delivered(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    sender.script(URL, status(500))  # the first copy fails once
    dispatcher = make(retries=3, backoff_s=(1.0,))
    dispatcher.schedule("t1", URL, START, body_of("t1"), CallbackEffect(copies=2))
    clock.advance(10_000)
    settle(dispatcher)
    outcomes = [a["outcome"] for a in dispatcher.attempts("t1")]
    assert sorted(outcomes) == ["delivered", "delivered", "retrying"]


def test_redelivering_a_delivered_callback_sends_it_again(
    make: MakeDispatcher, sender: FakeSender
) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    settle(dispatcher)
    dispatcher.redeliver("t1")  # an admin asked for it explicitly
    settle(dispatcher)
    assert len(sender.calls) == 2


# -- no background thread dies quietly ---------------------------------------------


def test_a_bad_effect_fails_its_delivery_and_the_scheduler_goes_on(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender, caplog: pytest.LogCaptureFixture
) -> None:
    # A float where an int belongs, as an unvalidated scenario rule once passed in.
    bad = CallbackEffect(copies=cast(int, 2.0))
    dispatcher = make()
    dispatcher.schedule("bad", URL + "?token=s3cret", START + 10, body_of("bad"), bad)
    dispatcher.schedule("good", URL, START + 20, body_of("good"))
    with caplog.at_level(logging.ERROR, logger="mock_server.core.callbacks"):
        clock.advance(10)
        settle(dispatcher)
        clock.advance(10)
        settle(dispatcher)
    assert [call.body for call in sender.calls] == [body_of("good")()]
    assert state(dispatcher, "bad") == "failed"
    assert "internal error: TypeError" in str(dispatcher.deliveries(task_id="bad")[0]["lastError"])
    assert dispatcher.background_errors == 1
    assert any(record.exc_info for record in caplog.records)  # logged with its traceback
    assert "s3cret" not in caplog.text
    dispatcher.schedule("later", URL, START + 30, body_of("later"))
    clock.advance(10)
    settle(dispatcher)
    assert len(sender.calls) == 2


def test_a_sender_that_raises_is_a_failed_attempt_and_counted(
    clock: MockClock, sender: FakeSender
) -> None:
    class Raising:
        def post(self, url: str, body: bytes, headers: Mapping[str, str], t: float) -> SendResult:
            if b"boom" in body:
                raise RuntimeError("sender bug")
            return sender.post(url, body, headers, t)

    policy = CallbackPolicy(retries=0)
    with CallbackDispatcher(clock, Raising(), policy) as dispatcher:
        dispatcher.schedule("t1", URL, START, lambda: b"boom")
        dispatcher.schedule("t2", URL, START, body_of("t2"))
        settle(dispatcher)
        assert state(dispatcher, "t1") == "failed"
        assert state(dispatcher, "t2") == "delivered"
        assert dispatcher.background_errors == 1


class Fatal(BaseException):
    """What no loop catches: the thread dies (like SystemExit in a sender)."""


def test_a_dead_sender_is_counted_and_reset_revives_it(clock: MockClock) -> None:
    calls: list[str] = []
    fatal = threading.Event()

    class Dying:
        def post(self, url: str, body: bytes, headers: Mapping[str, str], t: float) -> SendResult:
            if not fatal.is_set():
                fatal.set()
                raise Fatal
            calls.append(url)
            return OK

    policy = CallbackPolicy(senders=1)
    with CallbackDispatcher(clock, Dying(), policy) as dispatcher:
        dispatcher.schedule("t1", URL, START, body_of("t1"))
        assert fatal.wait(WAIT_S)
        dispatcher.schedule("t2", URL, START, body_of("t2"))
        assert not dispatcher.wait_idle(0.2)  # nobody sends any more
        assert dispatcher.background_errors == 1
        dispatcher.reset()
        dispatcher.schedule("t3", URL, START, body_of("t3"))
        settle(dispatcher)
        assert calls == [URL]
        assert state(dispatcher, "t3") == "delivered"


def test_attempt_log_lines_hide_the_query_string(
    make: MakeDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = make()
    with caplog.at_level(logging.INFO, logger="mock_server.core.callbacks"):
        dispatcher.schedule(
            "t1", "http://u:pw@receiver.test/hook?token=s3cret", START, body_of("t1")
        )
        settle(dispatcher)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "http://***@receiver.test/hook?***" in text
    assert "s3cret" not in text
    assert ":pw@" not in text
    assert dispatcher.attempts("t1")[0]["url"].endswith("?token=s3cret")  # admin sees it all


# -- scenario effects -----------------------------------------------------------


def test_drop_records_dropped_and_sends_nothing(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START + 10, body_of("t1"), CallbackEffect(drop=True))
    assert state(dispatcher, "t1") == "scheduled"
    clock.advance(10_000)
    settle(dispatcher)
    assert sender.calls == []
    assert state(dispatcher, "t1") == "dropped"
    assert dispatcher.attempts("t1") == []


def test_two_copies_send_the_same_body_twice(make: MakeDispatcher, sender: FakeSender) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START, body_of("t1"), CallbackEffect(copies=2))
    settle(dispatcher)
    assert [call.body for call in sender.calls] == [body_of("t1")()] * 2
    assert dispatcher.deliveries(task_id="t1")[0]["attempts"] == 2


def test_delay_shifts_the_due_time(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START + 100, body_of("t1"), CallbackEffect(delay_ms=5000))
    clock.advance(5099)
    settle(dispatcher)
    assert sender.calls == []
    clock.advance(1)
    settle(dispatcher)
    assert sender.times() == [5100]


def test_reorder_sends_the_later_task_first(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    dispatcher = make(reorder_window_ms=1000)
    dispatcher.schedule("A", URL, START + 100, body_of("A"), CallbackEffect(reorder=True))
    dispatcher.schedule("B", URL, START + 200, body_of("B"), CallbackEffect(reorder=True))
    dispatcher.schedule("C", URL, START + 150, body_of("C"))
    clock.advance(200)
    settle(dispatcher)
    assert [c.body for c in sender.calls] == [body_of("C")()]  # A and B are held
    clock.advance(899)
    settle(dispatcher)
    assert len(sender.calls) == 1
    clock.advance(1)  # the window opened by A (due +100) closes at +1100
    settle(dispatcher)
    assert [c.body for c in sender.calls] == [body_of(t)() for t in "CBA"]


def test_reorder_window_holds_only_deliveries_due_within_it(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    dispatcher = make(reorder_window_ms=1000)
    dispatcher.schedule("A", URL, START + 100, body_of("A"), CallbackEffect(reorder=True))
    dispatcher.schedule("B", URL, START + 5000, body_of("B"), CallbackEffect(reorder=True))
    clock.advance(60_000)
    settle(dispatcher)
    assert [c.body for c in sender.calls] == [body_of("A")(), body_of("B")()]
    assert sender.times() == [60_000, 60_000]


# -- rescheduling, redelivery, replacement -------------------------------------


def test_reschedule_moves_a_delivery_that_is_not_yet_due(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START + 30_000, body_of("t1"), CallbackEffect(delay_ms=5))
    assert dispatcher.reschedule("t1", START + 1000)
    clock.advance(1005)
    settle(dispatcher)
    assert sender.times() == [1005]
    clock.advance(60_000)
    settle(dispatcher)
    assert len(sender.calls) == 1  # the old due time is forgotten
    assert not dispatcher.reschedule("t1", START)  # already sent
    assert not dispatcher.reschedule("unknown", START)


def test_redeliver_sends_a_fresh_attempt_now(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    sender.script(URL, status(500))
    dispatcher = make(retries=0)
    dispatcher.schedule("t1", URL, START, body_of("t1"), CallbackEffect(drop=False))
    settle(dispatcher)
    assert state(dispatcher, "t1") == "failed"
    clock.advance(50)
    dispatcher.redeliver("t1")
    settle(dispatcher)
    assert sender.times() == [0, 50]
    assert state(dispatcher, "t1") == "delivered"
    assert [a["attempt"] for a in dispatcher.attempts("t1")] == [1, 2]


def test_redeliver_ignores_drop(make: MakeDispatcher, sender: FakeSender) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START, body_of("t1"), CallbackEffect(drop=True))
    settle(dispatcher)
    dispatcher.redeliver("t1")
    settle(dispatcher)
    assert len(sender.calls) == 1
    assert state(dispatcher, "t1") == "delivered"


def test_redeliver_without_a_callback_raises_key_error(make: MakeDispatcher) -> None:
    with pytest.raises(KeyError):
        make().redeliver("never-had-one")


def test_scheduling_a_task_again_replaces_its_delivery(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START + 10, body_of("t1"))
    dispatcher.schedule("t1", OTHER_URL, START + 20, body_of("t1"))
    clock.advance(100)
    settle(dispatcher)
    assert [c.url for c in sender.calls] == [OTHER_URL]


# -- isolation between receivers -----------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_hanging_receiver_does_not_delay_another(
    make: MakeDispatcher, sender: FakeSender, scheme: str
) -> None:
    # A multiplexing sender sends https callbacks one at a time: such an origin keeps its
    # share of threads, each with a callback in flight, as with a plain sender.
    if scheme == "http" and isinstance(sender, FakeMultiplexingSender):
        pytest.skip("the fake post_all sends a round one after another (the real sender's "
                    "connections: tests/test_callback_delivery.py)")  # fmt: skip
    hanging, other = URL.replace("http", scheme, 1), OTHER_URL.replace("http", scheme, 1)
    sender.hang(hanging)
    dispatcher = make(senders=4)  # at most 2 in flight per origin
    for i in range(5):
        dispatcher.schedule(f"h{i}", hanging, START, body_of(f"h{i}"))
    dispatcher.schedule("ok", other, START, body_of("ok"))

    def ok_sent_and_two_hanging(calls: list[Call]) -> bool:
        return any(c.url == other for c in calls) and sum(c.url == hanging for c in calls) >= 2

    assert sender.wait_for(ok_sent_and_two_hanging)
    assert sum(c.url == hanging for c in sender.calls) == 2  # a third needs a hanging one to end
    assert dispatcher.wait_idle(0.01) is False  # the hanging ones are still in flight
    sender.release.set()


# -- what the admin API reads ---------------------------------------------------


def test_deliveries_filter_by_task_and_outcome(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    sender.script(OTHER_URL, status(500))
    dispatcher = make(retries=0)
    dispatcher.schedule("ok", URL, START, body_of("ok"))
    dispatcher.schedule("bad", OTHER_URL, START, body_of("bad"))
    dispatcher.schedule("later", URL, START + 60_000, body_of("later"))
    settle(dispatcher)
    assert [r["taskId"] for r in dispatcher.deliveries()] == ["ok", "bad", "later"]
    assert [r["taskId"] for r in dispatcher.deliveries(outcome="failed")] == ["bad"]
    assert [r["taskId"] for r in dispatcher.deliveries(outcome="scheduled")] == ["later"]
    assert dispatcher.deliveries(task_id="nope") == []
    assert dispatcher.pending_count() == 1
    with pytest.raises(ValueError, match="outcome"):
        dispatcher.deliveries(outcome="lost")


def test_summaries_and_attempts_are_json_ready(make: MakeDispatcher) -> None:
    dispatcher = make()
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    settle(dispatcher)
    assert dispatcher.deliveries() == [
        {
            "taskId": "t1",
            "url": URL,
            "state": "delivered",
            "attempts": 1,
            "dueTime": START,
            "nextAttemptTime": None,
            "lastStatus": 200,
            "lastError": None,
            "effect": {"drop": False, "copies": 1, "delayMs": 0, "reorder": False},
        }
    ]
    assert dispatcher.attempts("t1") == [
        {
            "taskId": "t1",
            "url": URL,
            "attempt": 1,
            "dueTime": START,
            "time": START,
            "status": 200,
            "error": None,
            "latencyMs": 1.0,
            "outcome": "delivered",
        }
    ]


def test_the_attempt_log_is_bounded(clock: MockClock, sender: FakeSender) -> None:
    with CallbackDispatcher(clock, sender, CallbackPolicy(), attempts=AttemptLog(3)) as dispatcher:
        for i in range(5):
            dispatcher.schedule(f"t{i}", URL, START, body_of(f"t{i}"))
        settle(dispatcher)
        logged = [t for t in (f"t{i}" for i in range(5)) if dispatcher.attempts(t)]
    assert len(logged) == 3


def test_reset_forgets_deliveries_and_attempts(
    make: MakeDispatcher, clock: MockClock, sender: FakeSender
) -> None:
    dispatcher = make()
    dispatcher.schedule("sent", URL, START, body_of("sent"))
    dispatcher.schedule("later", URL, START + 1000, body_of("later"))
    settle(dispatcher)
    dispatcher.reset()
    assert dispatcher.deliveries() == []
    assert dispatcher.attempts("sent") == []
    clock.advance(5000)
    settle(dispatcher)
    assert len(sender.calls) == 1  # "later" was forgotten
    dispatcher.schedule("after", URL, clock.now_ms(), body_of("after"))
    settle(dispatcher)
    assert len(sender.calls) == 2  # and the threads still run


# -- lifecycle -----------------------------------------------------------------


def callback_threads(
    others: frozenset[threading.Thread] = frozenset(),
) -> list[str]:
    """Callback threads alive now, leaving out `others` (another test's, in the same process)."""
    alive = [t for t in threading.enumerate() if t not in others]
    return [t.name for t in alive if t.name.startswith("callbacks-")]


def test_start_spawns_a_bounded_pool_and_close_joins_it(
    clock: MockClock, sender: FakeSender
) -> None:
    others = frozenset(threading.enumerate())
    dispatcher = CallbackDispatcher(clock, sender, CallbackPolicy(senders=3))
    assert callback_threads(others) == []  # the constructor spawns nothing
    dispatcher.start()
    assert len(callback_threads(others)) == 4  # the scheduler and three senders
    with pytest.raises(RuntimeError):
        dispatcher.start()
    dispatcher.close()
    dispatcher.close()  # idempotent
    assert callback_threads(others) == []


def test_close_aborts_a_sender_that_can_abort(clock: MockClock) -> None:
    class AbortableSender(FakeSender):
        def abort(self) -> None:
            self.release.set()

    others = frozenset(threading.enumerate())
    sender = AbortableSender(clock)
    sender.hang(URL)
    dispatcher = CallbackDispatcher(clock, sender, CallbackPolicy())
    dispatcher.start()
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    assert sender.wait_for(lambda calls: len(calls) == 1)
    dispatcher.close(timeout_s=WAIT_S)
    assert sender.release.is_set()
    assert callback_threads(others) == []


def test_close_logs_pending_deliveries(
    clock: MockClock, sender: FakeSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="mock_server.core.callbacks")
    with CallbackDispatcher(clock, sender, CallbackPolicy()) as dispatcher:
        dispatcher.schedule("t1", URL, START + 1000, body_of("t1"))
    assert "1 deliveries still pending" in caplog.text


def test_attempts_are_logged(
    make: MakeDispatcher, sender: FakeSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="mock_server.core.callbacks")
    sender.script(URL, status(500))
    dispatcher = make(retries=0)
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    settle(dispatcher)
    [record] = [r for r in caplog.records if "attempt" in r.getMessage()]
    assert record.levelname == "WARNING"
    assert "t1" in record.getMessage()
    assert "failed" in record.getMessage()


@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_an_attempt_line_is_built_only_when_the_log_keeps_it(
    make: MakeDispatcher,
    sender: FakeSender,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    level: str,
) -> None:
    # Redacting the URL was a tenth of a delivered callback's CPU, for a line dropped unread.
    from mock_server.core.callbacks import attempts

    redacted: list[str] = []

    def redact(url: str) -> str:
        redacted.append(url)
        return url

    monkeypatch.setattr(attempts, "redact_url", redact)
    caplog.set_level(level, logger="mock_server.core.callbacks")
    dispatcher = make()
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    settle(dispatcher)
    assert dispatcher.attempts("t1")[0]["outcome"] == "delivered"
    assert redacted == ([URL] if level == "INFO" else [])
    assert any("attempt" in r.getMessage() for r in caplog.records) == (level == "INFO")


def test_wait_idle_is_false_while_work_is_due_and_nobody_sends(
    clock: MockClock, sender: FakeSender
) -> None:
    dispatcher = CallbackDispatcher(clock, sender, CallbackPolicy())
    dispatcher.schedule("t1", URL, START, body_of("t1"))
    assert not dispatcher.wait_idle(0.01)
    dispatcher.close()


# -- values ---------------------------------------------------------------------


NOT_HTTP = "callback_url: must be an absolute http or https URL"


def denied(host: str) -> str:
    return f"callback_url: host {host} is not allowed"


@pytest.mark.parametrize(
    ("url", "allow", "deny", "problem"),
    [
        ("http://127.0.0.1:8080/cb", (), (), None),
        ("https://hooks.example.com/cb?x=1", (), (), None),
        ("ftp://example.com/cb", (), (), NOT_HTTP),
        ("/relative/cb", (), (), NOT_HTTP),
        ("http:///no-host", (), (), NOT_HTTP),
        ("http://example.com:99999/", (), (), "callback_url: not a valid URL"),
        ("http://evil.example/cb", (), ("evil.example",), denied("evil.example")),
        ("http://a.evil.example/", (), ("*.evil.example",), denied("a.evil.example")),
        ("http://EVIL.example/", (), ("evil.EXAMPLE",), denied("evil.example")),
        ("http://hooks.me.test/", ("*.me.test",), (), None),
        ("http://me.test/", ("*.me.test",), (), denied("me.test")),
        ("http://other.test/", ("localhost", "*.me.test"), (), denied("other.test")),
        ("http://other.test/", ("localhost", "127.0.0.1"), (), None),  # its address decides
        ("http://127.1:9/", (), ("127.0.0.0/8",), denied("127.1 (127.0.0.1)")),
        ("http://[::ffff:127.0.0.1]/", (), ("127.0.0.1",), denied("::ffff:127.0.0.1")),
        ("http://localhost:9/", ("localhost",), ("*.evil",), None),
        ("http://x.me.test/", ("*.me.test",), ("x.me.test",), denied("x.me.test")),
    ],
)
def test_check_callback_url(
    url: str, allow: tuple[str, ...], deny: tuple[str, ...], problem: str | None
) -> None:
    assert check_callback_url(url, CallbackPolicy(allow_hosts=allow, deny_hosts=deny)) == problem


@pytest.mark.parametrize(
    "bad",
    [{"timeout_s": 0}, {"retries": -1}, {"backoff_s": ()}, {"backoff_s": (-1.0,)},
     {"jitter": 1.0}, {"senders": 0}, {"reorder_window_ms": -1}],
    ids=lambda bad: next(iter(bad)),
)  # fmt: skip
def test_policy_rejects_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        CallbackPolicy(**bad)


@pytest.mark.parametrize("bad", [{"copies": 0}, {"delay_ms": -1}])
def test_effect_rejects_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="callback effect"):
        CallbackEffect(**bad)
