"""Reads a process may answer from what it holds, and the fence that keeps them exact.

A status read on Redis cost a round trip even when nothing it reads had
changed: the clock, the scenario's version, the task. Redis can say when
something changed: with client tracking in broadcast mode it sends, on a
connection of this process's own, the name of every key written under the
tracked prefixes, by any process, scripts included. A process keeps what its
round trips read and drops it when its key's name arrives (`listen`).

That alone is eventual: the name may arrive a moment after the writer's
answer. So every write a read could hold is followed by a fence before the
writer answers: it counts a fence key (tracked too) and waits until every
live process has acknowledged it. A process acknowledges once its tracking
connection has delivered the fence's name, that is after every name before
it, so when the writer answers no process holds anything older than the write.

A process answers from what it holds only while it is a live member: its
tracking connection is up (each renewal PINGs it; the PONG comes after
every name sent before it) and its lease (renewed in Redis every
`LEASE_S / 4`) has not run out. A writer waits for the members whose lease
is alive by Redis's own time; a process stops answering locally before its
lease runs out by its own monotonic clock, so a process stalled, killed or
cut off stops being waited for only once it can no longer answer stale.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import redis

from ...errors import Unavailable

log = logging.getLogger("apixo_mock")

LEASE_S = 2.0  # a member's lease; a fence waits at most this long for a silent one
_MARGIN_S = 0.5  # a member stops answering locally this long before its lease ends
_RETRY_S = 0.1  # after a lost connection, before connecting again

Listener = Callable[[list[bytes] | None], None]  # key names written; None: anything may have

# KEYS: members (by lease end), the fence. ARGV: member, lease ms.
_RENEW = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
return 1
"""
# KEYS: the fence, what each member saw. ARGV: member, the acks channel.
_ACK = """
local fence = redis.call('GET', KEYS[1]) or '0'
redis.call('HSET', KEYS[2], ARGV[1], fence)
redis.call('PUBLISH', ARGV[2], ARGV[1])
return fence
"""
# KEYS: members, what each member saw. ARGV: the fence to wait for.
# Returns the live members that have not acknowledged it.
_PENDING = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local pending = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ms, '+inf')) do
  if tonumber(redis.call('HGET', KEYS[2], member) or '0') < tonumber(ARGV[1]) then
    pending[#pending + 1] = member
  end
end
return pending
"""


class Coherence:
    """This process's membership: tracked key names in, acknowledgements out, fences for writers."""

    def __init__(self, client: Any, prefix: str, tracked: Callable[[], Sequence[str]]) -> None:
        self._r = client
        self.fence_key = prefix + "coherence:fence"
        self.members_key = prefix + "coherence:members"
        self._seen = prefix + "coherence:seen"
        self._acks = prefix + "coherence:acks"
        self._tracked = tracked  # the keys whose writes are named (read once connected)
        self._renew = client.register_script(_RENEW)
        self._ack = client.register_script(_ACK)
        self._pending = client.register_script(_PENDING)
        self._listeners: list[Listener] = []
        self._before_ack: list[Callable[[], None]] = []
        self.generation = 0  # moved before any held read is dropped: fills check it
        self._valid_until = 0.0  # time.monotonic(): answer locally only before it
        self._pid: int | None = None
        self._running = False  # this process started its membership (a forked child has not)
        forgotten = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forked(forgotten))
        self._member = ""
        self._start_lock = threading.Lock()
        self._acked = threading.Condition()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._told = False

    @property
    def member(self) -> str:
        """This process's member id: unique to it (a forked child gets its own on first use)."""
        return self._member

    def listen(self, listener: Listener) -> None:
        """Call `listener` (on the tracking thread) with the names of keys written."""
        self._listeners.append(listener)

    def before_acknowledging(self, hook: Callable[[], None]) -> None:
        """Run `hook` (on the tracking thread) before each acknowledgement of a fence.

        A fence then also means: every live member did what `hook` does (the
        journal sends what it kept), before the one who fenced reads on.
        """
        self._before_ack.append(hook)

    def serving(self, now: float | None = None) -> bool:
        """Whether this process may answer from what it holds (membership starts on first use).

        `now`: `time.monotonic()` if the caller read it already.
        """
        if not self._running:
            self._start()
        return (time.monotonic() if now is None else now) < self._valid_until

    def wait_serving(self, timeout_s: float) -> bool:
        """Wait (bounded) until this process is a live member; whether it is."""
        deadline = time.monotonic() + timeout_s
        while not self.serving():
            if self._closed.wait(0.005) or time.monotonic() > deadline:
                return False
        return True

    def fence(self) -> None:
        """Return once no live member holds a read older than the writes made before this call."""
        target = int(self._r.incr(self.fence_key))
        deadline = time.monotonic() + LEASE_S + _MARGIN_S
        while self._pending(keys=[self.members_key, self._seen], args=[target]):
            if time.monotonic() > deadline:  # only a member that stopped renewing is this slow
                log.warning("a mock process did not acknowledge a shared-store change in time")
                return
            with self._acked:
                self._acked.wait(0.005)  # woken by any acknowledgement

    def close(self) -> None:
        """Stop answering locally, leave the members and stop the tracking thread."""
        self._closed.set()
        self._valid_until = 0.0
        with self._start_lock:
            thread = self._thread if self._pid == os.getpid() else None
        if thread is not None:
            try:
                self._r.zrem(self.members_key, self._member)
                self._r.hdel(self._seen, self._member)
                self._r.publish(self._acks, "")  # wakes the thread to see it is closed
            except (redis.RedisError, Unavailable):
                pass  # Redis is away: the lease runs out, the thread wakes to renew it
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        self._valid_until = 0.0

    # -- the tracking thread ----------------------------------------------

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid() or self._closed.is_set():
                return
            # A forked child starts afresh: the parent's thread and connection are not its own.
            self._pid, self._member = os.getpid(), uuid.uuid4().hex
            self._valid_until = 0.0
            self._thread = threading.Thread(
                target=self._run, name="apixo-mock-coherence", daemon=True
            )
            self._thread.start()
            self._running = True

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                self._serve_connection()
            except redis.ResponseError as exc:
                # Redis before 6, or an ACL without CLIENT or SUBSCRIBE: it cannot name
                # changes, so this process holds nothing and reads everything through.
                log.warning("Redis refused client tracking (%s); every read goes to Redis", exc)
                self._lose()
                return
            except (redis.RedisError, OSError, Unavailable) as exc:  # Redis went away
                if not (self._told or self._closed.is_set()):
                    log.warning("lost Redis's change notices (%s); reading through", exc)
                self._told = True  # an outage is logged once, not on every try to reconnect
            self._lose()
            self._closed.wait(_RETRY_S)

    def _serve_connection(self) -> None:
        pool = self._r.connection_pool
        # RESP2: the names come as pub/sub messages, which redis-py hands back as they are.
        conn = pool.connection_class(**{**pool.connection_kwargs, "protocol": 2})
        try:
            self._subscribe(conn)
            self._lose()  # anything held came before this connection saw changes
            pings: deque[float] = deque()
            self._renew_lease(conn, pings)
            self._acknowledge()
            self._told = False
            next_renewal = time.monotonic() + LEASE_S / 4
            while not self._closed.is_set():
                # Bounded: a close that woke nobody (Redis away) is seen within _RETRY_S x 5.
                wait = min(max(0.0, next_renewal - time.monotonic()), 5 * _RETRY_S)
                if conn.can_read(timeout=wait):
                    self._handle(conn.read_response(), conn, pings)
                if time.monotonic() >= next_renewal:
                    self._renew_lease(conn, pings)
                    next_renewal = time.monotonic() + LEASE_S / 4
        finally:
            conn.disconnect()

    def _subscribe(self, conn: Any) -> None:
        conn.connect()
        conn.send_command("CLIENT", "ID")
        own_id = conn.read_response()
        names = [*self._tracked(), self.fence_key]
        prefixes = [part for name in names for part in ("PREFIX", name)]
        conn.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", *prefixes)
        conn.read_response()
        conn.send_command("SUBSCRIBE", "__redis__:invalidate", self._acks)
        conn.read_response()
        conn.read_response()

    def _handle(self, message: Any, conn: Any, pings: deque[float]) -> None:
        if message == [b"pong", b""] and pings:
            # Everything Redis sent this connection before the PING has been handled:
            # answer locally until the lease, counted from before the renewal, runs out.
            sent = pings.popleft()
            if not self._closed.is_set():
                self._valid_until = sent + LEASE_S - _MARGIN_S
            return
        if not (isinstance(message, list) and len(message) == 3 and message[0] == b"message"):
            return
        channel, data = message[1], message[2]
        if channel == self._acks.encode():
            with self._acked:
                self._acked.notify_all()
            return
        keys: list[bytes] | None = data if isinstance(data, list) else None
        self.generation += 1
        for listener in self._listeners:
            listener(keys)
        if keys is None:
            # A flush may have wiped the members too: answer locally only once back in.
            self._valid_until = 0.0
            pings.clear()
            self._renew_lease(conn, pings)
            self._acknowledge()
        elif self.fence_key.encode() in keys:
            self._acknowledge()

    def _renew_lease(self, conn: Any, pings: deque[float]) -> None:
        """Renew the lease in Redis, and PING the tracking connection: its PONG validates it.

        A connection that died without a word (no reset seen) brings no PONG, so
        this process stops answering locally before the lease ends, by which
        time writers stop waiting for it.
        """
        sent = time.monotonic()
        self._renew(keys=[self.members_key], args=[self._member, int(LEASE_S * 1000)])
        conn.send_command("PING")
        pings.append(sent)

    def _acknowledge(self) -> None:
        for hook in self._before_ack:
            hook()
        self._ack(keys=[self.fence_key, self._seen], args=[self._member, self._acks])

    def _lose(self) -> None:
        self._valid_until = 0.0
        self.generation += 1
        for listener in self._listeners:
            listener(None)


def _forked(forgotten: weakref.ref[Coherence]) -> None:
    """In a forked child: the parent's membership is not its own (it starts its own)."""
    coherence = forgotten()
    if coherence is not None:
        coherence._running = False
        coherence._valid_until = 0.0
