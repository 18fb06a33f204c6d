"""Callback delivery: POST a finished task's status envelope to its callback_url.

One scheduler thread keeps a heap of deliveries ordered by due time on the mock
clock and hands the due ones to a bounded pool of sender threads. The scheduler
never touches the network, so a slow receiver cannot hold up the heap, and no
origin may occupy more than half of the pool, so one hanging receiver cannot
starve the others. A clock listener wakes the scheduler, which is why a test
that advances the clock sees its callbacks at once without sleeping.

A delivery's state is derived from counters, never stored: `scheduled` until
its first attempt falls due, `delivering` while any attempt chain is in flight
or waiting for a retry, then `delivered` (some attempt got a 2xx), `failed`
(every chain gave up) or `dropped` (a scenario said never to send it).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, runtime_checkable
from urllib.parse import urlsplit

from .clock import MockClock

DELIVERY_STATES: Final = ("scheduled", "delivering", "delivered", "failed", "dropped")
TIMESTAMP_HEADER: Final = "X-Apixo-Mock-Timestamp"
SIGNATURE_HEADER: Final = "X-Apixo-Mock-Signature"
_REORDER_LANE: Final = ""  # pseudo-origin of reordered batches in the send queue
_TAKE_AT_ONCE: Final = 16  # callbacks a sender takes per visit to the queue
_MAX_WAIT_S: Final = 3600.0  # the scheduler re-checks the heap at least this often


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """How callbacks are delivered; one per dispatcher, built from the settings."""

    timeout_s: float = 30.0
    retries: int = 3
    backoff_s: tuple[float, ...] = (1.0, 4.0, 16.0)
    jitter: float = 0.1
    secret: str | None = None
    senders: int = 8
    allow_hosts: tuple[str, ...] = ()
    deny_hosts: tuple[str, ...] = ()
    reorder_window_ms: int = 1000
    user_agent: str = "apixo-mock"

    def __post_init__(self) -> None:
        problems = [
            ("timeout_s", self.timeout_s > 0, "must be positive"),
            ("retries", self.retries >= 0, "must not be negative"),
            ("backoff_s", bool(self.backoff_s) and min(self.backoff_s) >= 0, "needs delays >= 0"),
            ("jitter", 0 <= self.jitter < 1, "must be in [0, 1)"),
            ("senders", self.senders >= 1, "must be at least 1"),
            ("reorder_window_ms", self.reorder_window_ms >= 0, "must not be negative"),
        ]
        for name, ok, why in problems:
            if not ok:
                raise ValueError(f"callback policy: {name} {why}")

    def backoff_ms(self, retry: int, spread: float) -> int:
        """Delay before retry number `retry` (1-based); `spread` in [-1, 1) scales the jitter."""
        base = self.backoff_s[min(retry, len(self.backoff_s)) - 1]
        return round(base * 1000 * (1 + self.jitter * spread))


@dataclass(frozen=True, slots=True)
class CallbackEffect:
    """What a scenario rule does to one task's callback; the default is a normal delivery."""

    drop: bool = False
    copies: int = 1
    delay_ms: int = 0
    reorder: bool = False

    def __post_init__(self) -> None:
        if self.copies < 1 or self.delay_ms < 0:
            raise ValueError("callback effect: copies must be >= 1 and delay_ms >= 0")

    def to_json(self) -> dict[str, Any]:
        """The effect as admin JSON."""
        return {
            "drop": self.drop,
            "copies": self.copies,
            "delayMs": self.delay_ms,
            "reorder": self.reorder,
        }


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one POST came to: an HTTP status, or an error that prevented one."""

    status: int | None
    error: str | None
    latency_ms: float

    @property
    def ok(self) -> bool:
        """Whether the receiver acknowledged the callback (any 2xx)."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


class CallbackSender(Protocol):
    """Performs one POST; never raises, maps every failure to `SendResult.error`."""

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        """POST `body` to `url`, giving the receiver `timeout_s` seconds to answer."""
        ...


@runtime_checkable
class Abortable(Protocol):
    """A sender that can break off its requests in flight, so close() stays bounded."""

    def abort(self) -> None:
        """Fail every request in flight and every later one."""
        ...


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST of one callback, as logged."""

    task_id: str
    url: str
    attempt: int
    time_ms: int
    status: int | None
    error: str | None
    latency_ms: float
    outcome: str  # "delivered", "retrying" or "failed"

    def to_json(self) -> dict[str, Any]:
        """The attempt as admin JSON."""
        return {
            "taskId": self.task_id,
            "url": self.url,
            "attempt": self.attempt,
            "time": self.time_ms,
            "status": self.status,
            "error": self.error,
            "latencyMs": round(self.latency_ms, 3),
            "outcome": self.outcome,
        }


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: `sha256=` + hex HMAC-SHA256 of `"{timestamp}." + body`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_callback_url(url: str, policy: CallbackPolicy) -> str | None:
    """None if `url` may receive callbacks, else a message naming the field and why.

    The URL must be absolute http(s) with a host; the host must match no entry of
    `deny_hosts` and, when `allow_hosts` is not empty, one of its entries. An entry
    is a host name (exact) or `*.suffix` (any host below suffix).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check: it raises on a bad one
    except ValueError:
        return "callback_url: not a valid URL"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "callback_url: must be an absolute http or https URL"
    denied = _host_matches(host, policy.deny_hosts)
    if denied or (policy.allow_hosts and not _host_matches(host, policy.allow_hosts)):
        return f"callback_url: host {host} is not allowed"
    return None


def _host_matches(host: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        pattern = pattern.lower()
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def _spread(seed: int, task_id: str, retry: int) -> float:
    """A number in [-1, 1) fixed by (seed, task, retry): jitter that no thread order can change."""
    digest = hashlib.blake2b(f"{seed}:{task_id}:{retry}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1


@dataclass(slots=True, eq=False)
class _Delivery:
    """One task's callback; counters change only under the dispatcher's lock."""

    task_id: str
    url: str
    origin: str
    body: Callable[[], bytes]
    effect: CallbackEffect
    due_ms: int
    generation: int = 0  # bumped by reschedule: older heap entries are stale
    started: bool = False  # the scheduled first attempt has fallen due
    dropped: bool = False
    active: int = 0  # attempt chains in flight or waiting for a retry
    attempts: int = 0
    delivered: int = 0
    next_attempt_ms: int | None = None
    last_status: int | None = None
    last_error: str | None = None

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


@dataclass(slots=True)
class _Due:
    """Heap entry: a delivery's scheduled first attempt (effects apply here)."""

    delivery: _Delivery
    generation: int


@dataclass(slots=True)
class _Send:
    """Heap or queue entry: attempt number `attempt` (1-based) of one chain."""

    delivery: _Delivery
    attempt: int


@dataclass(slots=True)
class _Batch:
    """Reordered deliveries held back together, sent one by one, newest due first."""

    held: list[tuple[int, int, _Delivery]] = field(default_factory=list)

    def newest_first(self) -> list[_Delivery]:
        """The held deliveries in reverse order of (due time, schedule order)."""
        return [d for _, _, d in sorted(self.held, key=lambda h: (h[0], h[1]), reverse=True)]


_Work = _Send | _Batch


class _SendQueue:
    """Work per origin, served round-robin, at most `per_origin` in flight per origin."""

    def __init__(self, per_origin: int) -> None:
        self._cond = threading.Condition()
        self._per_origin = per_origin
        self._waiting: dict[str, deque[_Work]] = {}
        self._runnable: deque[str] = deque()  # origins with work and spare capacity
        self._in_flight: dict[str, int] = {}
        self._closed = False

    def put(self, items: list[tuple[str, _Work]]) -> None:
        """Queue (origin, work) items; senders pick them up as their origins have capacity."""
        with self._cond:
            for origin, work in items:
                queue = self._waiting.setdefault(origin, deque())
                queue.append(work)
                if len(queue) == 1 and self._in_flight.get(origin, 0) < self._per_origin:
                    self._runnable.append(origin)
            if self._runnable:
                self._cond.notify()

    def take(self, limit: int) -> tuple[str, list[_Work]] | None:
        """Up to `limit` items of one origin, waiting for some; None once closed.

        Taking several at once spares a Condition round trip per callback, which
        is most of the dispatcher's own cost at thousands of callbacks a second.
        A sender takes only its share of the origin's backlog, though, so that a
        short queue is still spread over every sender the origin may use.
        """
        with self._cond:
            while not self._runnable and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            origin = self._runnable.popleft()
            queue = self._waiting[origin]
            share = min(limit, max(1, len(queue) // self._per_origin))
            taken = [queue.popleft() for _ in range(share)]
            busy = self._in_flight[origin] = self._in_flight.get(origin, 0) + 1
            if queue and busy < self._per_origin:
                self._runnable.append(origin)
            elif not queue:
                del self._waiting[origin]
            if self._runnable:
                self._cond.notify()  # pass the baton: more work is ready for another sender
            return origin, taken

    def done(self, origin: str) -> None:
        """A sender finished work taken for `origin`."""
        with self._cond:
            busy = self._in_flight.pop(origin) - 1
            if busy:
                self._in_flight[origin] = busy
            if origin in self._waiting and busy == self._per_origin - 1:
                self._runnable.append(origin)
                self._cond.notify()

    def clear(self) -> int:
        """Forget the queued (not in-flight) work; returns how many items were dropped."""
        with self._cond:
            dropped = sum(len(queue) for queue in self._waiting.values())
            self._waiting.clear()
            self._runnable.clear()
            return dropped

    def close(self) -> int:
        """Wake every sender to exit; returns how many queued items were dropped."""
        dropped = self.clear()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return dropped


class CallbackDispatcher:
    """Delivers callbacks when they fall due on the mock clock, with retries and a log.

    The constructor spawns nothing; `start()` starts one scheduler thread and
    `policy.senders` sender threads (daemons), `close()` stops and joins them.
    """

    def __init__(
        self,
        clock: MockClock,
        sender: CallbackSender,
        policy: CallbackPolicy,
        *,
        seed: int = 0,
        log: logging.Logger | None = None,
        attempt_log_size: int = 10_000,
    ) -> None:
        self._clock = clock
        self._sender = sender
        self._policy = policy
        self._seed = seed
        self._log = log or logging.getLogger(__name__)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the scheduler waits here
        self._idle = threading.Condition(self._lock)  # wait_idle waits here
        self._heap: list[tuple[int, int, _Due | _Send | _Batch]] = []
        self._seq = 0
        self._deliveries: dict[str, _Delivery] = {}
        self._attempts: deque[Attempt] = deque(maxlen=attempt_log_size)
        self._batch: _Batch | None = None  # the reorder batch being collected
        self._busy = 0  # work items queued or in flight
        self._live = 0  # threads still running
        self._queue = _SendQueue(per_origin=max(1, policy.senders // 2))
        self._threads: list[threading.Thread] = []
        self._started = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Start the scheduler and the sender pool; call once."""
        with self._lock:
            if self._started or self._closed:
                raise RuntimeError("the callback dispatcher was already started")
            self._started = True
        self._threads = [threading.Thread(target=self._schedule_loop, name="callbacks-scheduler")]
        self._threads += [
            threading.Thread(target=self._send_loop, name=f"callbacks-sender-{i}")
            for i in range(self._policy.senders)
        ]
        self._live = len(self._threads)
        self._clock.subscribe(self._on_clock)
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop every thread (waiting up to `timeout_s`) and log what was still pending."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.notify_all()
        self._clock.unsubscribe(self._on_clock)
        self._queue.close()
        if isinstance(self._sender, Abortable):
            self._sender.abort()  # break off hanging requests instead of waiting them out
        with self._lock:
            stopped = self._idle.wait_for(lambda: self._live == 0, timeout_s)
        for thread in self._threads:
            thread.join(0.1 if stopped else 0)
        pending = self.pending_count()
        self._log.info("callbacks closed with %d deliveries still pending", pending)
        if not stopped:
            self._log.warning("callbacks: %d threads did not stop in %gs", self._live, timeout_s)

    def __enter__(self) -> CallbackDispatcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def policy(self) -> CallbackPolicy:
        """The policy deliveries follow (the service checks callback URLs against it)."""
        return self._policy

    # -- what the service calls ------------------------------------------------

    def schedule(
        self,
        task_id: str,
        url: str,
        due_ms: int,
        body: Callable[[], bytes],
        effect: CallbackEffect = CallbackEffect(),
    ) -> None:
        """Deliver `body()` to `url` at `due_ms` (+ the effect's delay); replaces an earlier one.

        `body` is called at send time, so it returns the task's envelope as it is then.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        delivery = _Delivery(task_id, url, origin, body, effect, due_ms + effect.delay_ms)
        with self._lock:
            self._deliveries[task_id] = delivery
            self._push(delivery.due_ms, _Due(delivery, 0))

    def reschedule(self, task_id: str, due_ms: int) -> bool:
        """Move a not-yet-due delivery to `due_ms` (+ its delay); False if there is none."""
        with self._lock:
            delivery = self._deliveries.get(task_id)
            if delivery is None or delivery.started:
                return False
            delivery.generation += 1
            delivery.due_ms = due_ms + delivery.effect.delay_ms
            self._push(delivery.due_ms, _Due(delivery, delivery.generation))
            return True

    def redeliver(self, task_id: str) -> None:
        """Start a fresh attempt chain now, ignoring effects; KeyError if there was no callback.

        Chains already running go on; a delivery still scheduled is also sent when due.
        """
        with self._lock:
            delivery = self._deliveries.get(task_id)
            if delivery is None:
                raise KeyError(task_id)
            delivery.active += 1
            self._busy += 1
        self._queue.put([(delivery.origin, _Send(delivery, 1))])

    def reset(self) -> None:
        """Forget every delivery and attempt; the threads keep running."""
        with self._lock:
            self._deliveries.clear()
            self._heap.clear()
            self._attempts.clear()
            self._batch = None
            self._busy -= self._queue.clear()
            self._idle.notify_all()

    # -- what the admin API and tests read -------------------------------------

    def deliveries(
        self, *, task_id: str | None = None, outcome: str | None = None
    ) -> list[dict[str, Any]]:
        """Summaries (JSON-ready) in due order, filtered by task and by state."""
        if outcome is not None and outcome not in DELIVERY_STATES:
            raise ValueError(f"outcome: {outcome!r} is not one of {list(DELIVERY_STATES)}")
        with self._lock:
            if task_id is not None:
                found = self._deliveries.get(task_id)
                chosen = [found] if found is not None else []
            else:
                chosen = list(self._deliveries.values())
            rows = [d.to_json() for d in chosen if outcome is None or d.state == outcome]
        rows.sort(key=lambda row: int(row["dueTime"]))
        return rows

    def attempts(self, task_id: str) -> list[dict[str, Any]]:
        """Every logged attempt (JSON-ready) for `task_id`, oldest first."""
        with self._lock:
            return [a.to_json() for a in self._attempts if a.task_id == task_id]

    def pending_count(self) -> int:
        """Deliveries not yet finished: scheduled or delivering."""
        with self._lock:
            return sum(d.state in ("scheduled", "delivering") for d in self._deliveries.values())

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is due now or in flight; False if `timeout_s` passed first."""
        with self._lock:
            return self._idle.wait_for(self._is_idle, timeout_s)

    # -- the scheduler ---------------------------------------------------------

    def _push(self, due_ms: int, item: _Due | _Send | _Batch) -> None:
        """Add a heap entry (lock held); wake the scheduler if it is now the earliest."""
        self._seq += 1
        heapq.heappush(self._heap, (due_ms, self._seq, item))
        if self._heap[0][2] is item:
            self._wake.notify()

    def _on_clock(self) -> None:
        with self._lock:
            self._wake.notify()

    def _is_idle(self) -> bool:
        return self._busy == 0 and not (self._heap and self._heap[0][0] <= self._clock.now_ms())

    def _schedule_loop(self) -> None:
        try:
            while (ready := self._next_ready()) is not None:
                self._queue.put(ready)
        finally:
            self._thread_exited()

    def _next_ready(self) -> list[tuple[str, _Work]] | None:
        """Wait until something falls due and return it; None when closing."""
        with self._lock:
            while not self._closed:
                ready = self._take_due(self._clock.now_ms())
                if ready:
                    return ready
                self._wake.wait(self._wait_s())
            return None

    def _wait_s(self) -> float | None:
        """Seconds until the earliest entry; None (until woken) on a frozen clock."""
        if not self._heap or self._clock.frozen:
            return None
        # Capped: a due time centuries ahead would overflow the lock's timeout.
        return min(_MAX_WAIT_S, max(0.0, (self._heap[0][0] - self._clock.now_ms()) / 1000))

    def _take_due(self, now: int) -> list[tuple[str, _Work]]:
        """Pop every entry due at `now` into send work (lock held); stale entries vanish."""
        ready: list[tuple[str, _Work]] = []
        while self._heap and self._heap[0][0] <= now:
            due, seq, item = heapq.heappop(self._heap)
            if isinstance(item, _Batch):
                if self._batch is item:
                    self._batch = None
                ready.append((_REORDER_LANE, item))
            elif self._deliveries.get(item.delivery.task_id) is not item.delivery:
                continue  # reset or replaced since
            elif isinstance(item, _Send):
                ready.append((item.delivery.origin, item))
            elif item.generation == item.delivery.generation:
                self._start(item.delivery, due, seq, ready)
        self._busy += len(ready)
        if not self._busy:
            self._idle.notify_all()
        return ready

    def _start(
        self, delivery: _Delivery, due: int, seq: int, ready: list[tuple[str, _Work]]
    ) -> None:
        """The scheduled first attempt fell due: apply the effects (lock held)."""
        delivery.started = True
        effect = delivery.effect
        if effect.drop:
            delivery.dropped = True
            self._log.info("callback for %s dropped by scenario", delivery.task_id)
            return
        delivery.active += effect.copies
        if not effect.reorder:
            ready.extend((delivery.origin, _Send(delivery, 1)) for _ in range(effect.copies))
            return
        # Reorder rule: the first reordered delivery to fall due opens a window of
        # reorder_window_ms on the mock clock; every reordered delivery falling due
        # before it closes joins, and at the close they go out newest due first.
        if self._batch is None:
            self._batch = _Batch()
            self._push(due + self._policy.reorder_window_ms, self._batch)
        self._batch.held.append((due, seq, delivery))

    # -- the senders -----------------------------------------------------------

    def _send_loop(self) -> None:
        try:
            while (taken := self._queue.take(_TAKE_AT_ONCE)) is not None:
                origin, works = taken
                try:
                    for work in works:
                        self._perform(work)
                finally:
                    self._queue.done(origin)
                    self._work_done(len(works))
        finally:
            self._thread_exited()

    def _perform(self, work: _Work) -> None:
        try:
            self._perform_unguarded(work)
        except Exception:
            self._log.exception("callback sender failed")  # keep the thread alive

    def _perform_unguarded(self, work: _Work) -> None:
        if isinstance(work, _Send):
            self._attempt(work.delivery, work.attempt)
            return
        for delivery in work.newest_first():  # one by one, so the order holds at the receiver
            for _ in range(delivery.effect.copies):
                self._attempt(delivery, 1)

    def _attempt(self, delivery: _Delivery, attempt: int) -> None:
        """POST once and settle the outcome; a failing body() counts as a failed attempt."""
        try:
            body = delivery.body()
            headers = self._headers(body)
            result = self._sender.post(delivery.url, body, headers, self._policy.timeout_s)
        except Exception as exc:
            result = SendResult(None, f"{type(exc).__name__}: {exc}", 0.0)
        record = self._settle(delivery, attempt, result)
        if record is not None:
            self._log_attempt(record)

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": self._policy.user_agent}
        if self._policy.secret is not None:
            timestamp = self._clock.now_ms() // 1000
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(self._policy.secret, timestamp, body)
        return headers

    def _settle(self, delivery: _Delivery, attempt: int, result: SendResult) -> Attempt | None:
        """Record the attempt and schedule a retry or end the chain; None if forgotten since."""
        with self._lock:
            if self._deliveries.get(delivery.task_id) is not delivery:
                return None
            now = self._clock.now_ms()
            delivery.attempts += 1
            delivery.last_status, delivery.last_error = result.status, result.error
            if result.ok or attempt > self._policy.retries:
                outcome = "delivered" if result.ok else "failed"
                delivery.delivered += result.ok
                delivery.active -= 1
                if not delivery.active:
                    delivery.next_attempt_ms = None
            else:
                outcome = "retrying"
                spread = _spread(self._seed, delivery.task_id, attempt)
                delivery.next_attempt_ms = now + self._policy.backoff_ms(attempt, spread)
                self._push(delivery.next_attempt_ms, _Send(delivery, attempt + 1))
            record = Attempt(
                task_id=delivery.task_id,
                url=delivery.url,
                attempt=delivery.attempts,
                time_ms=now,
                status=result.status,
                error=result.error,
                latency_ms=result.latency_ms,
                outcome=outcome,
            )
            self._attempts.append(record)
            return record

    def _log_attempt(self, record: Attempt) -> None:
        level = logging.WARNING if record.outcome == "failed" else logging.INFO
        self._log.log(
            level,
            "callback for %s attempt %d to %s: %s (status %s, error %s, %.1f ms)",
            *(record.task_id, record.attempt, record.url, record.outcome),
            *(record.status, record.error, record.latency_ms),
        )

    def _work_done(self, count: int) -> None:
        with self._lock:
            self._busy -= count
            if not self._busy:
                self._idle.notify_all()

    def _thread_exited(self) -> None:
        with self._lock:
            self._live -= 1
            self._idle.notify_all()
