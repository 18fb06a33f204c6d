"""The mock's sense of time: wall time plus an offset that tests can move.

Everything in the mock reads time through a `Clock`, so a test advances the
clock instead of sleeping. Listeners hear about every jump, which is how the
callback dispatcher wakes up the moment a test moves time forward.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from .errors import InvalidRequest
from .held import ThreadBlock
from .stores import ClockReading, ClockStateStore
from .stores.memory import MemoryClockState

Listener = Callable[[], None]

# The largest millisecond count a JSON number (a double) holds exactly: the
# mock's time, and every timestamp derived from it, stays at or below it.
MAX_MS = 2**53 - 1


class ClockOutOfRange(InvalidRequest, ValueError):
    """A clock move the mock cannot make: not whole milliseconds, backwards, or past `MAX_MS`.

    An `InvalidRequest`, so the admin API answers 400 in the envelope; a
    `ValueError`, as Python callers of the clock expect for a bad argument.
    """

    def __str__(self) -> str:
        return self.error  # what went wrong, not the envelope's generic message


def checked_ms(ms: object) -> int:
    """`ms` if it is a whole number of milliseconds in 0..MAX_MS, else `ClockOutOfRange`."""
    # bool is an int, and a float (even 1.0) would leak into timestamps as 1.0.
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise ClockOutOfRange(f"ms: must be a whole number of milliseconds, got {ms!r}")
    if not 0 <= ms <= MAX_MS:
        raise ClockOutOfRange(f"ms: {ms} is outside 0..{MAX_MS}, what JSON keeps exact")
    return ms


def wall_ms() -> int:
    """Milliseconds since the Unix epoch, from the system clock."""
    return time.time_ns() // 1_000_000


class Clock(Protocol):
    """Anything that tells the time in Unix milliseconds."""

    def now_ms(self) -> int:
        """The current time in Unix milliseconds."""
        ...


_NO_BLOCK: AbstractContextManager[None] = nullcontext()  # stateless: safe to share


class MockClock:
    """System time plus an offset; can be advanced, set, frozen and unfrozen.

    `wall` is injectable so that the clock itself can be tested without the
    system clock. Moving the clock never goes backwards past a frozen reading
    unless `set` is asked to, because tasks derive their state from it. The
    offset and the frozen reading live in a `ClockStateStore` (in memory by
    default), so that several processes can share one mock time.
    """

    __slots__ = (
        "_last",
        "_listeners",
        "_lock",
        "_moves",
        "_state",
        "_steady",
        "_steady_block",
        "_wall",
    )

    def __init__(
        self,
        wall: Callable[[], int] = wall_ms,
        *,
        frozen: bool = False,
        state: ClockStateStore | None = None,
    ) -> None:
        self._wall = wall
        self._lock = threading.Lock()  # guards the listeners; the state guards itself
        self._state: ClockStateStore = state if state is not None else MemoryClockState()
        self._listeners: list[Listener] = []
        # Per thread: the state read once inside `steady()`, with the `_moves` it was read at.
        self._steady = threading.local()
        self._steady_block = ThreadBlock(self._steady, "kept")
        self._moves = 0  # bumped by every change made through this clock
        self._last: ClockReading = (0, None)  # the state as this process last saw it
        if frozen:
            self._update(lambda r: r if r[1] is not None else (r[0], self._at(r)))

    def steady(self) -> AbstractContextManager[None]:
        """Within the block, this thread reads the clock's state once (one request's reads).

        A shared state (Redis) costs a round trip per read; a request reads the
        time several times. Inside the block the state (offset and frozen
        flag, not the time: wall time still runs) is read on first use and
        kept, until the block ends or this clock is moved (by any thread of
        this process): a move made through another process is seen by the
        next block, as by the next request. Blocks nest. A state in this
        process's memory costs nothing to read: the block is then a no-op.
        """
        if isinstance(self._state, MemoryClockState):
            return _NO_BLOCK
        return self._steady_block

    def _reading(self) -> ClockReading:
        local = self._steady
        if not getattr(local, "depth", 0):
            self._last = reading = self._state.reading
            return reading
        kept: tuple[int, ClockReading] | None = getattr(local, "kept", None)
        moves = self._moves  # read before the state: a move in between makes it stale, not kept
        if kept is None or kept[0] != moves:
            kept = local.kept = (moves, self._state.reading)
            self._last = kept[1]
        return kept[1]

    @property
    def state(self) -> ClockStateStore:
        """Where this clock keeps its offset and frozen reading."""
        return self._state

    def assumed(self) -> ClockReading:
        """The clock's state as this process last saw it: no read of a shared state.

        For a request whose first step on the shared state checks that the
        state is still this one (`hold` then keeps what that step found).
        """
        if isinstance(self._state, MemoryClockState):
            return self._state.reading  # exact, and as cheap
        return self._last

    def hold(self, reading: ClockReading) -> None:
        """Within a `steady()` block, keep `reading` as the state read (by a step that read it).

        Outside a block it is only remembered as the state last seen.
        """
        self._last = reading
        local = self._steady
        if getattr(local, "depth", 0):
            local.kept = (self._moves, reading)

    def _update(self, change: Callable[[ClockReading], ClockReading]) -> ClockReading:
        new = self._state.update(change)
        with self._lock:
            self._moves += 1
        self._last = new
        return new

    def now_ms(self) -> int:
        """The mock's current time in Unix milliseconds."""
        offset, frozen_at = self._reading()
        if frozen_at is not None:
            return frozen_at
        # Wall time running on from a clock set near MAX_MS must not pass it.
        return min(self._wall() + offset, MAX_MS)

    def time_at(self, reading: ClockReading) -> int:
        """The time the clock tells when its state is `reading` (wall time running on)."""
        return self._at(reading)

    def _at(self, reading: ClockReading) -> int:
        offset, frozen_at = reading
        return frozen_at if frozen_at is not None else min(self._wall() + offset, MAX_MS)

    @property
    def frozen(self) -> bool:
        """Whether time stands still until advanced."""
        return self._reading()[1] is not None

    @property
    def offset_ms(self) -> int:
        """How far the mock's time is ahead of (or behind) the wall clock."""
        return self.now_ms() - self._wall()

    def advance(self, ms: int) -> int:
        """Move time forward by `ms` milliseconds; returns the new time.

        `ClockOutOfRange` if `ms` is negative, not an int, or would take the time past `MAX_MS`.
        """
        if isinstance(ms, int) and not isinstance(ms, bool) and ms < 0:
            raise ClockOutOfRange("ms: the clock only advances forwards")
        checked_ms(ms)

        def forward(reading: ClockReading) -> ClockReading:
            now = self._at(reading)
            if now + ms > MAX_MS:
                raise ClockOutOfRange(
                    f"ms: advancing {ms} from {now} passes {MAX_MS}, what JSON keeps exact"
                )
            offset, frozen_at = reading
            return (offset, frozen_at + ms) if frozen_at is not None else (offset + ms, None)

        now = self._at(self._update(forward))
        self._notify()
        return now

    def set(self, ms: int) -> int:
        """Jump to the absolute time `ms` (Unix milliseconds); returns it.

        `ClockOutOfRange` if `ms` is not an int in 0..MAX_MS.
        """
        checked_ms(ms)
        self._update(lambda r: (r[0], ms) if r[1] is not None else (ms - self._wall(), None))
        self._notify()
        return ms

    def freeze(self) -> int:
        """Stop time at its current reading; returns that reading."""
        now = self._at(self._update(lambda r: r if r[1] is not None else (r[0], self._at(r))))
        self._notify()
        return now

    def unfreeze(self) -> int:
        """Let time run again from the frozen reading; returns the current time."""
        self._update(lambda r: (r[1] - self._wall(), None) if r[1] is not None else r)
        now = self.now_ms()
        self._notify()
        return now

    def reset(self, *, frozen: bool = False) -> None:
        """Back to wall time with no offset, frozen or running."""
        self._update(lambda _: (0, self._wall() if frozen else None))
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
