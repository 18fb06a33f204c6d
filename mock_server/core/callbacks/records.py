"""Callback deliveries as data: what a delivery store keeps and what it hands out to send.

A delivery is a record of plain values (no body closure): any process that
shares the store can send it, rendering the body from the task when it does.
Its state is derived from counters, never stored: `scheduled` until its first
attempt falls due, `delivering` while any attempt chain is in flight or waiting
for a retry, then `delivered` (some attempt got a 2xx), `failed` (every chain
gave up) or `dropped` (a scenario said never to send it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from .policy import CallbackEffect, SendResult

REORDER_LANE: Final = ""  # pseudo-origin of reordered batches in the send queue


@dataclass(slots=True, eq=False)
class DeliveryRecord:
    """One task's callback: where, when, with which effect, and how it went so far."""

    task_id: str
    url: str
    origin: str  # scheme://host:port, lower case: the unit of fairness between receivers
    effect: CallbackEffect
    due_ms: int  # the first attempt's due time, the effect's delay included
    fault: str | None = None  # why the delivery cannot start (a broken effect), or None
    incarnation: int = 0  # set by the store: a replaced delivery's work goes stale
    generation: int = 0  # bumped by reschedule: older queued starts are stale
    started: bool = False  # the scheduled first attempt has fallen due
    dropped: bool = False
    active: int = 0  # attempt chains in flight or waiting for a retry
    wanted: int = 0  # successful deliveries asked for: copies, plus one per redelivery
    retry_epoch: int = 0  # bumped when a success cancels the pending retries
    pending_retries: int = 0  # retries waiting under the current epoch
    attempts: int = 0
    delivered: int = 0
    next_attempt_ms: int | None = None
    last_status: int | None = None
    last_error: str | None = None

    def record(self, result: SendResult, last_try: bool) -> str:
        """Count one attempt's result; its outcome: "delivered", "failed" or "retrying".

        Once the callback has been delivered as often as asked (its copies, plus
        one per redelivery), the waiting retries are cancelled (their queue
        entries go stale) and no chain retries any more.
        """
        self.attempts += 1
        self.last_status, self.last_error = result.status, result.error
        self.delivered += result.ok
        if self.delivered >= self.wanted:
            self.retry_epoch += 1
            self.active -= self.pending_retries
            self.pending_retries = 0
        if result.ok or last_try or self.delivered >= self.wanted:
            self.active -= 1
            if not self.active:
                self.next_attempt_ms = None
            return "delivered" if result.ok else "failed"
        self.pending_retries += 1
        return "retrying"

    @property
    def state(self) -> str:
        """The delivery state, derived from the counters."""
        if self.active:
            return "delivering"
        if not self.started:
            return "scheduled"
        if self.dropped and not self.attempts:
            return "dropped"
        return "delivered" if self.delivered else "failed"

    @property
    def pending(self) -> bool:
        """Not yet finished: scheduled or delivering."""
        return bool(self.active) or not self.started

    def to_json(self) -> dict[str, Any]:
        """The delivery as admin JSON."""
        return {
            "taskId": self.task_id,
            "url": self.url,
            "state": self.state,
            "attempts": self.attempts,
            "dueTime": self.due_ms,
            "nextAttemptTime": self.next_attempt_ms,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "effect": self.effect.to_json(),
        }


# A NamedTuple, as Work below: made for every claimed callback (see SendResult).
class Send(NamedTuple):
    """Attempt number `attempt` (1-based) of one chain of a delivery, due at `due_ms`.

    A retry's due time counts from this one's, not from when the attempt ended,
    so that one big clock advance replays a whole chain in order.
    """

    task_id: str
    url: str
    incarnation: int  # the delivery's when this was queued: stale once it is replaced
    attempt: int
    due_ms: int


class Work(NamedTuple):
    """What one claim hands to one sender: one send, or a reordered batch sent in order.

    `token` names the claim in the store (its lease); `lane` is the origin the
    send queue keeps fair (a reordered batch has a lane of its own).
    """

    token: str
    lane: str
    sends: tuple[Send, ...]
