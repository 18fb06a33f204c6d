"""The mock's sense of time: wall time plus an offset that tests can move.

Everything in the mock reads time through a `Clock`, so a test advances the
clock instead of sleeping. Listeners hear about every jump, which is how the
callback dispatcher wakes up the moment a test moves time forward.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

Listener = Callable[[], None]


def wall_ms() -> int:
    """Milliseconds since the Unix epoch, from the system clock."""
    return time.time_ns() // 1_000_000


class Clock(Protocol):
    """Anything that tells the time in Unix milliseconds."""

    def now_ms(self) -> int:
        """The current time in Unix milliseconds."""
        ...


class MockClock:
    """System time plus an offset; can be advanced, set, frozen and unfrozen.

    `wall` is injectable so that the clock itself can be tested without the
    system clock. Moving the clock never goes backwards past a frozen reading
    unless `set` is asked to, because tasks derive their state from it.
    """

    __slots__ = ("_frozen_at", "_listeners", "_lock", "_offset_ms", "_wall")

    def __init__(self, wall: Callable[[], int] = wall_ms, *, frozen: bool = False) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._offset_ms = 0
        self._frozen_at: int | None = wall() if frozen else None
        self._listeners: list[Listener] = []

    def now_ms(self) -> int:
        """The mock's current time in Unix milliseconds."""
        frozen_at = self._frozen_at
        if frozen_at is not None:
            return frozen_at
        return self._wall() + self._offset_ms

    @property
    def frozen(self) -> bool:
        """Whether time stands still until advanced."""
        return self._frozen_at is not None

    @property
    def offset_ms(self) -> int:
        """How far the mock's time is ahead of (or behind) the wall clock."""
        return self.now_ms() - self._wall()

    def advance(self, ms: int) -> int:
        """Move time forward by `ms` milliseconds; returns the new time."""
        if ms < 0:
            raise ValueError("the clock only advances forwards")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += ms
            else:
                self._offset_ms += ms
            now = self.now_ms()
        self._notify()
        return now

    def set(self, ms: int) -> int:
        """Jump to the absolute time `ms` (Unix milliseconds); returns it."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = ms
            else:
                self._offset_ms = ms - self._wall()
        self._notify()
        return ms

    def freeze(self) -> int:
        """Stop time at its current reading; returns that reading."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self.now_ms()
            now = self._frozen_at
        self._notify()
        return now

    def unfreeze(self) -> int:
        """Let time run again from the frozen reading; returns the current time."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset_ms = self._frozen_at - self._wall()
                self._frozen_at = None
            now = self.now_ms()
        self._notify()
        return now

    def reset(self, *, frozen: bool = False) -> None:
        """Back to wall time with no offset, frozen or running."""
        with self._lock:
            self._offset_ms = 0
            self._frozen_at = self._wall() if frozen else None
        self._notify()

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` (no arguments) after every change to the clock."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling `listener`; unknown listeners are ignored."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
