"""One callback attempt as a sender thread performs it: body, headers, POST, log line.

Internal to the callback dispatcher (dispatcher.py), which owns the bookkeeping:
an attempt's result goes back to it through `settle`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, cast

from ..background import BackgroundThreads
from ..clock import MockClock
from .policy import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Attempt,
    CallbackPolicy,
    CallbackSender,
    Multiplexing,
    Request,
    SendResult,
    redact_url,
    sign,
)
from .records import Send, Work

Outcome = Callable[[], Attempt | None]  # an attempt's settling, read when called
Settle = Callable[[Work, int, SendResult], Outcome]
SettleAll = Callable[[list[tuple[Work, int, SendResult]]], list[Outcome]]  # several in one step
Body = Callable[[str], bytes]  # a task id's callback body, rendered at send time
_READ_EVERY: Final = 32  # outcomes left unread at most: a long reordered batch reads on the way


class AttemptRunner:
    """Performs send work; an exception is a failed attempt, never a dead sender thread."""

    def __init__(
        self,
        clock: MockClock,
        sender: CallbackSender,
        policy: CallbackPolicy,
        threads: BackgroundThreads,
        log: logging.Logger,
        width: int = 1,
    ) -> None:
        self._clock = clock
        self._sender = sender
        self._policy = policy
        self._threads = threads
        self._log = log
        # POSTs one sender keeps in flight at once (a multiplexing sender's connections).
        self._width = width if isinstance(sender, Multiplexing) else 1

    def perform(
        self, works: list[Work], body: Body, settle: Settle, settle_all: SettleAll | None = None
    ) -> None:
        """Send the works' attempts, each settled before its connection carries the next.

        One after another, so that a reordered batch's order holds; but works
        of one send each go out `width` at a time with a multiplexing sender,
        and the results one wait on its connections brought are settled
        together (`settle_all`, if given). The outcomes are read only after the
        last POST (or every `_READ_EVERY` attempts): a shared store's round
        trips overlap the POSTs, and their answers are read together.
        """
        unread: list[Outcome] = []
        try:
            if self._width > 1 and len(works) > 1 and all(len(w.sends) == 1 for w in works):
                self._perform_at_once(works, body, settle_all or _one_by_one(settle), unread)
                return
            for work in works:
                try:
                    for index in range(len(work.sends)):
                        result = self._send(work, index, body)
                        if len(unread) >= _READ_EVERY:
                            self._read_all(unread)
                        unread.append(settle(work, index, result))
                except Exception:
                    self._threads.caught("callback sender failed; it goes on")
        finally:
            self._read_all(unread)

    def _perform_at_once(
        self, works: list[Work], body: Body, settle_all: SettleAll, unread: list[Outcome]
    ) -> None:
        """Send works of one send each, `width` at a time; the results of each wait on the
        connections are settled together, before any of them carries the next."""

        def maker(send: Send) -> Callable[[], Request]:
            def make() -> Request:
                try:
                    payload = body(send.task_id)
                    return send.url, payload, self._headers(payload)
                except Exception:
                    self._threads.caught("callback for %s: body or sender raised", send.task_id)
                    raise  # a failed attempt (the sender's result says why)

            return make

        ended: list[tuple[Work, int, SendResult]] = []

        def done(index: int, result: SendResult) -> None:
            ended.append((works[index], 0, result))

        def flush() -> None:
            settling = list(ended)
            ended.clear()
            if settling:
                self._settle_safely(settling, settle_all, unread)

        multiplexing = cast("Multiplexing", self._sender)
        requests = [maker(work.sends[0]) for work in works]
        try:
            multiplexing.post_all(requests, self._policy.timeout_s, done, self._width, flush)
        finally:
            flush()  # what a failure left unsettled

    def _settle_safely(
        self,
        settling: list[tuple[Work, int, SendResult]],
        settle_all: SettleAll,
        unread: list[Outcome],
    ) -> None:
        """Settle attempts together; a failure is logged, and the sender goes on."""
        try:
            if len(unread) + len(settling) > _READ_EVERY:
                self._read_all(unread)
            unread.extend(settle_all(settling))
        except Exception:
            self._threads.caught("callback sender failed; it goes on")

    def _read_all(self, outcomes: list[Outcome]) -> None:
        """Read (and log) the outcomes in order; one's failure is not the others'."""
        for outcome in outcomes:
            self._read_safely(outcome)
        outcomes.clear()

    def _send(self, work: Work, index: int, body: Body) -> SendResult:
        """POST once; a failing body or sender is a failed attempt."""
        send = work.sends[index]
        try:
            payload = body(send.task_id)
            headers = self._headers(payload)
            return self._sender.post(send.url, payload, headers, self._policy.timeout_s)
        except Exception as exc:
            self._threads.caught("callback for %s: body or sender raised", send.task_id)
            return SendResult(None, f"{type(exc).__name__}: {exc}", 0.0)

    def _read(self, outcome: Outcome) -> None:
        record = outcome()
        if record is not None:
            self._log_attempt(record)

    def _read_safely(self, outcome: Outcome) -> None:
        try:
            self._read(outcome)
        except Exception:
            self._threads.caught("callback sender failed; it goes on")

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": self._policy.user_agent}
        if self._policy.secret is not None:
            timestamp = self._clock.now_ms() // 1000
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(self._policy.secret, timestamp, body)
        return headers

    def _log_attempt(self, record: Attempt) -> None:
        # The query string may carry a receiver's token: the log shows it redacted.
        level = logging.WARNING if record.outcome == "failed" else logging.INFO
        if not self._log.isEnabledFor(level):
            return  # spares redacting the URL for a line nobody keeps: most of the cost
        self._log.log(
            level,
            "callback for %s attempt %d to %s: %s (status %s, error %s, %.1f ms)",
            *(record.task_id, record.attempt, redact_url(record.url), record.outcome),
            *(record.status, record.error, record.latency_ms),
        )


def _one_by_one(settle: Settle) -> SettleAll:
    """A `SettleAll` of `settle`, each attempt on its own."""
    return lambda settling: [settle(work, index, result) for work, index, result in settling]
