"""One callback attempt as a sender thread performs it: body, headers, POST, log line.

Internal to the callback dispatcher (dispatcher.py), which owns the bookkeeping:
an attempt's result goes back to it through `settle`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..background import BackgroundThreads
from ..clock import MockClock
from .policy import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Attempt,
    CallbackPolicy,
    CallbackSender,
    SendResult,
    redact_url,
    sign,
)
from .queue import Send, Work

Settle = Callable[[Send, SendResult], Attempt | None]


class AttemptRunner:
    """Performs send work; an exception is a failed attempt, never a dead sender thread."""

    def __init__(
        self,
        clock: MockClock,
        sender: CallbackSender,
        policy: CallbackPolicy,
        threads: BackgroundThreads,
        log: logging.Logger,
    ) -> None:
        self._clock = clock
        self._sender = sender
        self._policy = policy
        self._threads = threads
        self._log = log

    def perform(self, work: Work, settle: Settle) -> None:
        """Send one chain's attempt, or a reordered batch one callback after another."""
        try:
            if isinstance(work, Send):
                self._attempt(work, settle)
                return
            for delivery in work.newest_first():  # one by one, so the order holds at the receiver
                for _ in range(delivery.effect.copies):
                    self._attempt(Send(delivery, 1, work.due_ms), settle)
        except Exception:
            self._threads.caught("callback sender failed; it goes on")

    def _attempt(self, send: Send, settle: Settle) -> None:
        """POST once and settle the outcome; a failing body() or sender is a failed attempt."""
        delivery = send.delivery
        try:
            body = delivery.body()
            headers = self._headers(body)
            result = self._sender.post(delivery.url, body, headers, self._policy.timeout_s)
        except Exception as exc:
            self._threads.caught("callback for %s: body or sender raised", delivery.task_id)
            result = SendResult(None, f"{type(exc).__name__}: {exc}", 0.0)
        record = settle(send, result)
        if record is not None:
            self._log_attempt(record)

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
        self._log.log(
            level,
            "callback for %s attempt %d to %s: %s (status %s, error %s, %.1f ms)",
            *(record.task_id, record.attempt, redact_url(record.url), record.outcome),
            *(record.status, record.error, record.latency_ms),
        )
