"""AttemptRunner: a long batch reads its outcomes on the way (order: test_callback_pipelining)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from mock_server.core.background import BackgroundThreads
from mock_server.core.callbacks import CallbackPolicy, Request, SendResult
from mock_server.core.callbacks.attempts import AttemptRunner, Outcome
from mock_server.core.callbacks.policy import Attempt
from mock_server.core.callbacks.records import Send, Work
from mock_server.core.clock import MockClock

LOG = logging.getLogger("test_callback_attempts")


class Recorder:
    """A sender and a store's settle in one: notes every POST, settle and read, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        self.events.append(f"post {url}")
        return SendResult(200, None, 1.0)

    def settle(self, work: Work, index: int, result: SendResult) -> Outcome:
        url = work.sends[index].url
        self.events.append(f"settle {url}")

        def read() -> Attempt | None:
            self.events.append(f"read {url}")
            return None

        return read


def works(count: int, sends: int = 1) -> list[Work]:
    return [
        Work(f"w{i}", "lane", tuple(Send("t", f"{i}.{k}", 0, 1, 0) for k in range(sends)))
        for i in range(count)
    ]


def perform(batch: list[Work]) -> list[str]:
    recorder = Recorder()
    runner = AttemptRunner(MockClock(), recorder, CallbackPolicy(), BackgroundThreads(LOG), LOG)
    runner.perform(batch, lambda task_id: b"{}", recorder.settle)
    return recorder.events


def test_a_long_batch_reads_its_outcomes_on_the_way() -> None:
    events = perform(works(1, sends=70))
    settles = [e for e in events if e.startswith("settle")]
    reads = [e.removeprefix("read ") for e in events if e.startswith("read")]
    assert reads == [e.removeprefix("settle ") for e in settles]  # every one, in order
    # Never more than 32 outcomes unread when an attempt is settled.
    for position, event in enumerate(events):
        if event.startswith("settle"):
            before = events[:position]
            unread = sum(e.startswith("settle") for e in before) - sum(
                e.startswith("read") for e in before
            )
            assert unread <= 32
    assert events.index("read 0.0") < events.index("post 0.33")


class RoundRecorder(Recorder):
    """A multiplexing sender (rounds of `width`, each ended then flushed) and a store's
    settle of several at once, noting every POST and settle in order."""

    def post_all(
        self,
        requests: Sequence[Callable[[], Request]],
        timeout_s: float,
        done: Callable[[int, SendResult], None],
        width: int,
        flush: Callable[[], None] = lambda: None,
    ) -> None:
        for first in range(0, len(requests), width):
            round_ = range(first, min(first + width, len(requests)))
            for index in round_:
                self.post(requests[index]()[0], b"", {}, timeout_s)
            for index in round_:
                done(index, SendResult(200, None, 1.0))
            flush()

    def settle_all(self, settling: list[tuple[Work, int, SendResult]]) -> list[Outcome]:
        self.events.append("settle " + " ".join(w.sends[i].url for w, i, _ in settling))
        return [lambda: None for _ in settling]


def test_a_multiplexing_senders_round_is_settled_in_one_step_before_the_next_round() -> None:
    recorder = RoundRecorder()
    policy = CallbackPolicy()
    runner = AttemptRunner(MockClock(), recorder, policy, BackgroundThreads(LOG), LOG, 3)
    runner.perform(works(7), lambda task_id: b"{}", recorder.settle, recorder.settle_all)
    assert recorder.events == [
        *("post 0.0", "post 1.0", "post 2.0", "settle 0.0 1.0 2.0"),
        *("post 3.0", "post 4.0", "post 5.0", "settle 3.0 4.0 5.0"),
        *("post 6.0", "settle 6.0"),
    ]
