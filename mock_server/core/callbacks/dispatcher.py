"""Callback delivery: POST a finished task's status envelope to its callback_url.

The deliveries live in a `DeliveryStore` (in memory by default, shared by
several processes in Redis); the dispatcher keeps none of their state. One
scheduler thread claims the work that is due on the mock clock and hands it
to a bounded pool of sender threads, which settle every attempt back in the
store. The scheduler never sends, so a slow receiver cannot hold up the
queue, and no origin may occupy more than half of the pool, so one hanging
receiver cannot starve the others. A clock listener wakes the scheduler,
which is why a test that advances the clock sees its callbacks at once
without sleeping; a shared store is also polled, for work other processes
queued or left behind.
"""

from __future__ import annotations

import logging
import operator
import threading
import uuid
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from ..background import BackgroundThreads
from ..clock import MockClock
from ..stores import AttemptLogStore, DeliveryStore, memory
from .attempts import AttemptRunner, Outcome
from .policy import (
    DELIVERY_STATES,
    Abortable,
    Attempt,
    CallbackEffect,
    CallbackPolicy,
    CallbackSender,
    Multiplexing,
    SendResult,
    spread,
)
from .queue import SendQueue
from .records import DeliveryRecord, Send, Work

__all__ = ("CallbackDispatcher",)

_TAKE_AT_ONCE: Final = 16  # callbacks a sender takes per visit to the queue, per connection
_MAX_WAIT_S: Final = 3600.0  # the scheduler re-checks the queue at least this often
_ERROR_PAUSE_S: Final = 0.05  # after an unexpected error, so a persistent one cannot spin
_UNLIMITED: Final = 2**31  # works claimed at once from a store that sets no limit
_CLAIM_FRACTION: Final = 4  # a store with a claim limit is claimed from in quarters of it
_NEVER: Final = 2**63  # the scheduler looks again only when woken (or polling)

Body = Callable[[], bytes]


class CallbackDispatcher:
    """Delivers callbacks when they fall due on the mock clock, with retries and a log.

    The constructor spawns nothing; `start()` starts one scheduler thread and
    `policy.senders` sender threads (daemons), `close()` stops and joins them.
    A delivery's body is `render(task_id)` at send time, so any process can
    send it; a caller may give a body function of its own to `schedule` instead.
    """

    def __init__(
        self,
        clock: MockClock,
        sender: CallbackSender,
        policy: CallbackPolicy,
        *,
        seed: int = 0,
        log: logging.Logger | None = None,
        attempts: AttemptLogStore | None = None,
        deliveries: DeliveryStore | None = None,
        render: Callable[[str], bytes] | None = None,
    ) -> None:
        self._clock = clock
        self._sender = sender
        self._policy = policy
        self._seed = seed
        # The package's name, as before the split: log configurations name it.
        self._log = log or logging.getLogger("mock_server.core.callbacks")
        if deliveries is None:
            from ..stores.memory_deliveries import MemoryDeliveries  # it imports this package

            deliveries = MemoryDeliveries(attempts if attempts is not None else memory.AttemptLog())
        self._store = deliveries
        self._render = render
        self._owner = uuid.uuid4().hex  # this dispatcher's name on the leases it holds
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the scheduler waits here
        self._idle = threading.Condition(self._lock)  # wait_idle waits here
        self._pokes = 0  # bumped by whatever may have made work due: no wake-up is lost
        self._look_at: int | None = None  # when the waiting scheduler looks again; None: unknown
        self._bodies: dict[str, Body] = {}  # bodies callers gave schedule(): this process only
        self._busy = 0  # works claimed and not yet done, plus a claim in progress
        self._held: set[str] = set()  # tokens of those works: a lease renewed is not sent twice
        # An origin gets at most half the senders. A multiplexing sender keeps that
        # many connections to a plain-HTTP origin in flight from one thread: fewer
        # threads taking turns at the GIL, and a wake-up may find several answers.
        # It sends https ones one at a time, so those keep their threads each.
        share = max(1, policy.senders // 2)
        width = share if isinstance(sender, Multiplexing) else 1
        self._queue = SendQueue(share, alone=_plain_http if width > 1 else _never)
        self._take = _TAKE_AT_ONCE * width
        self._threads = BackgroundThreads(self._log)
        self._runner = AttemptRunner(clock, sender, policy, self._threads, self._log, width)
        self._started = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Start the scheduler and the sender pool; call once."""
        with self._lock:
            if self._started or self._closed:
                raise RuntimeError("the callback dispatcher was already started")
            self._started = True
        self._clock.subscribe(self._poke)
        senders = [(f"callbacks-sender-{i}", self._send_loop) for i in range(self._policy.senders)]
        self._threads.start([("callbacks-scheduler", self._schedule_loop), *senders])

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop every thread (waiting up to `timeout_s`) and log what was still pending."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.notify_all()
        self._threads.closing()
        self._clock.unsubscribe(self._poke)
        self._queue.close()
        if isinstance(self._sender, Abortable):
            self._sender.abort()  # break off hanging requests instead of waiting them out
        stopped = self._threads.wait_stopped(timeout_s)
        try:
            pending = self.pending_count()
        except Exception:  # a shared store gone away: the count was only for this line
            self._log.warning("callbacks closed; the store could not say what was pending")
        else:
            self._log.info("callbacks closed with %d deliveries still pending", pending)
        if not stopped:
            self._log.warning("callbacks: %d threads outlived close", self._threads.live)

    def __enter__(self) -> CallbackDispatcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def policy(self) -> CallbackPolicy:
        """The policy deliveries follow (the service checks callback URLs against it)."""
        return self._policy

    @property
    def background_errors(self) -> int:
        """Unexpected exceptions the scheduler and senders caught, logged and survived."""
        return self._threads.errors

    # -- what the service calls ------------------------------------------------

    def schedule(
        self,
        task_id: str,
        url: str,
        due_ms: int,
        body: Body | None = None,
        effect: CallbackEffect = CallbackEffect(),
    ) -> None:
        """Deliver to `url` at `due_ms` (+ the effect's delay); replaces an earlier one.

        The body is built at send time: `body()` if given (this process only),
        else the dispatcher's `render(task_id)`.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        fault = self._fault(task_id, effect)
        with self._lock:  # before the store has it: a sender may take it at once
            if body is None:
                self._bodies.pop(task_id, None)
            else:
                self._bodies[task_id] = body
        due = due_ms + effect.delay_ms
        self._store.schedule(DeliveryRecord(task_id, url, origin, effect, due, fault))
        self._poke_for(due)

    def reschedule(self, task_id: str, due_ms: int) -> bool:
        """Move a not-yet-due delivery to `due_ms` (+ its delay); False if there is none."""
        moved = self._store.reschedule(task_id, due_ms)
        self._poke_for(due_ms)  # the delay only adds to it
        return moved

    def redeliver(self, task_id: str) -> None:
        """Start a fresh attempt chain now, ignoring effects; KeyError if there was no callback.

        Chains already running go on; a delivery still scheduled is also sent when due.
        """
        if not self._store.redeliver(task_id, self._clock.now_ms()):
            raise KeyError(task_id)
        self._poke()

    def reset(self) -> None:
        """Forget every delivery and attempt, and restart any thread that died."""
        self._store.clear()
        with self._lock:
            self._bodies.clear()
            self._held.clear()
            self._busy -= self._queue.clear()
            self._idle.notify_all()
        self._threads.revive()

    # -- what the admin API and tests read -------------------------------------

    def deliveries(
        self, *, task_id: str | None = None, outcome: str | None = None
    ) -> list[dict[str, Any]]:
        """Summaries (JSON-ready) in due order, filtered by task and by state."""
        if outcome is not None and outcome not in DELIVERY_STATES:
            raise ValueError(f"outcome: {outcome!r} is not one of {list(DELIVERY_STATES)}")
        records = self._store.deliveries(task_id)
        return [r.to_json() for r in records if outcome is None or r.state == outcome]

    def attempts(self, task_id: str) -> list[dict[str, Any]]:
        """Every logged attempt (JSON-ready) for `task_id`, oldest first."""
        return [a.to_json() for a in self._store.attempts(task_id)]

    def pending_count(self) -> int:
        """Deliveries not yet finished: scheduled or delivering."""
        return self._store.pending_count()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is due now or in flight here; False if `timeout_s` passed first."""
        with self._lock:
            return self._idle.wait_for(self._is_idle, timeout_s)

    # -- the scheduler ---------------------------------------------------------

    def _fault(self, task_id: str, effect: CallbackEffect) -> str | None:
        """Why `effect` cannot be applied (logged now, recorded when due), or None."""
        try:
            operator.index(effect.copies)  # a float once came in from an unchecked rule
        except Exception as exc:
            self._threads.caught("callback for %s has a broken effect; it will fail", task_id)
            return f"internal error: {type(exc).__name__}: {exc}"
        return None

    def _poke(self) -> None:
        """Something may have fallen due: the scheduler looks again."""
        with self._lock:
            self._pokes += 1
            self._wake.notify()

    def _poke_for(self, due_ms: int) -> None:
        """Wake the scheduler for new work due at `due_ms`, unless it will look by then anyway.

        Sparing the wake-up spares a claim per scheduled callback: with a shared
        store each is a round trip, and most callbacks fall due later.
        """
        now, frozen = self._clock.now_ms(), self._clock.frozen
        with self._lock:
            planned = self._look_at
            if due_ms <= now or planned is None or (not frozen and due_ms < planned):
                self._pokes += 1
                self._wake.notify()

    def _is_idle(self) -> bool:
        return self._busy == 0 and not self._store.has_due(self._clock.now_ms())

    def _pause_after_error(self) -> None:
        with self._lock:
            if not self._closed:
                self._wake.wait(_ERROR_PAUSE_S)

    def _schedule_loop(self) -> None:
        while True:
            try:
                if not self._claim_round():
                    return
            except Exception:
                self._threads.caught("callback scheduler failed; it goes on")
                self._pause_after_error()

    def _claim_round(self) -> bool:
        """Claim what is due into the send queue, else wait; False when closing."""
        with self._lock:
            if self._closed:
                return False
            pokes, room = self._pokes, self._room()
            self._look_at = None  # until it waits: anything scheduled meanwhile wakes it
            self._busy += 1  # a claim in progress: wait_idle must not slip in between
        works: list[Work] = []
        try:
            if room:
                now = self._clock.now_ms()
                works = self._store.claim(now, self._owner, room, self._policy.reorder_window_ms)
        finally:
            with self._lock:
                # Work whose lease ran out while it waited here comes back: it is queued already.
                works = [work for work in works if work.token not in self._held]
                self._held.update(work.token for work in works)
                self._busy += len(works) - 1
                if not self._busy:
                    self._idle.notify_all()
        if works:
            self._queue.put([(work.lane, work) for work in works])
            return True
        wait_s = self._wait_s(room)
        now, frozen = self._clock.now_ms(), self._clock.frozen
        with self._lock:
            if pokes == self._pokes and not self._closed:
                # On a frozen clock only an advance (a poke) makes new work due.
                self._look_at = _NEVER if frozen or wait_s is None else now + int(wait_s * 1000)
                self._wake.wait(wait_s)
        return True

    def _room(self) -> int:
        """How many works may be claimed now (lock held): a store's limit bounds the backlog.

        Below a quarter of the limit the answer is 0: the backlog is still deep,
        and claiming a few works at a time (as each sender finishes its share)
        would cost a claim, a round trip to a shared store, per few callbacks.
        """
        limit = self._store.claim_limit
        if limit is None:
            return _UNLIMITED
        room = limit - self._busy
        return room if room >= max(1, limit // _CLAIM_FRACTION) else 0

    def _wait_s(self, room: int) -> float | None:
        """Seconds until the earliest work or the next poll; None: until woken."""
        poll = self._store.poll_s
        due = self._store.next_due_ms() if room else None
        if due is None or self._clock.frozen:
            return poll
        # Capped: a due time centuries ahead would overflow the lock's timeout.
        wait = min(_MAX_WAIT_S, max(0.0, (due - self._clock.now_ms()) / 1000))
        return wait if poll is None else min(wait, poll)

    # -- the senders -----------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            try:
                taken = self._queue.take(self._take)
                if taken is None:
                    return
                lane, works = taken
                try:
                    self._perform(works)
                finally:
                    self._queue.done(lane)
                    self._work_done(works)
            except Exception:
                self._threads.caught("callback sender loop failed; it goes on")
                self._pause_after_error()

    def _perform(self, works: list[Work]) -> None:
        """Send the works this dispatcher still holds (a lease may have run out while queued)."""
        held = self._store.renew([work.token for work in works], self._owner)
        chosen = [w for w in works if w.token in held]
        self._runner.perform(chosen, self._body, self._settle, self._settle_all)

    def _body(self, task_id: str) -> bytes:
        body = self._bodies.get(task_id)  # one dict read is atomic: senders take no lock here
        if body is not None:
            return body()
        if self._render is None:
            raise LookupError(f"no callback body for task {task_id}")
        return self._render(task_id)

    def _settle(self, work: Work, index: int, result: SendResult) -> Outcome:
        """Record the attempt, with its retry's due time unless it was the last try."""
        retry_due = self._retry_due(work.sends[index], result)
        now = self._clock.now_ms()
        return self._outcome(
            self._store.settle_later(work, index, self._owner, result, now, retry_due)
        )

    def _settle_all(self, settles: list[tuple[Work, int, SendResult]]) -> list[Outcome]:
        """`_settle` of several attempts, in one step of the store."""
        now = self._clock.now_ms()
        settling = [
            (work, index, result, self._retry_due(work.sends[index], result))
            for work, index, result in settles
        ]
        settled = self._store.settle_all_later(settling, self._owner, now)
        return [self._outcome(one) for one in settled]

    def _retry_due(self, send: Send, result: SendResult) -> int | None:
        """When the retry of a failed attempt falls due; None after a success or the last try."""
        if result.ok or send.attempt > self._policy.retries:
            return None
        jitter = spread(self._seed, send.task_id, send.attempt)
        return send.due_ms + self._policy.backoff_ms(send.attempt, jitter)

    def _outcome(self, settled: Callable[[], Attempt | None]) -> Outcome:
        def outcome() -> Attempt | None:
            record = settled()
            if record is not None and record.outcome == "retrying":
                self._poke()  # the retry may be due already: one advance replays a whole chain
            return record

        return outcome

    def _work_done(self, works: list[Work]) -> None:
        with self._lock:
            self._held.difference_update(work.token for work in works)
            self._busy -= len(works)
            if not self._busy:
                self._idle.notify_all()
            if self._store.claim_limit is not None and self._room():
                self._pokes += 1  # room to claim again
                self._wake.notify()


def _plain_http(lane: str) -> bool:
    """Whether a lane is a plain-HTTP origin (one multiplexing sender serves it alone)."""
    return lane.startswith("http://")


def _never(lane: str) -> bool:
    return False
