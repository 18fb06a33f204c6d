"""The send queue: claimed work waiting for a sender, kept fair between receivers.

Internal to the callback dispatcher (dispatcher.py), whose sender threads share it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from .records import Work


class SendQueue:
    """Work per origin, served round-robin, at most `per_origin` senders at once per origin
    (one for an origin that `alone(origin)` says one sender serves alone)."""

    def __init__(
        self, per_origin: int, alone: Callable[[str], bool] = lambda origin: False
    ) -> None:
        self._cond = threading.Condition()
        self._per_origin = per_origin
        self._alone = alone
        self._waiting: dict[str, deque[Work]] = {}
        self._runnable: deque[str] = deque()  # origins with work and spare capacity
        self._in_flight: dict[str, int] = {}
        self._closed = False

    def put(self, items: list[tuple[str, Work]]) -> None:
        """Queue (origin, work) items; senders pick them up as their origins have capacity."""
        with self._cond:
            for origin, work in items:
                queue = self._waiting.setdefault(origin, deque())
                queue.append(work)
                if len(queue) == 1 and self._in_flight.get(origin, 0) < self._cap(origin):
                    self._runnable.append(origin)
            if self._runnable:
                self._cond.notify()

    def take(self, limit: int) -> tuple[str, list[Work]] | None:
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
            cap = self._cap(origin)
            share = min(limit, max(1, len(queue) // cap))
            taken = [queue.popleft() for _ in range(share)]
            busy = self._in_flight[origin] = self._in_flight.get(origin, 0) + 1
            if queue and busy < cap:
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
            if origin in self._waiting and busy == self._cap(origin) - 1:
                self._runnable.append(origin)
                self._cond.notify()

    def _cap(self, origin: str) -> int:
        return 1 if self._alone(origin) else self._per_origin

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
