"""The mock clock's state in Redis: one string "offset,frozen", changed with WATCH/MULTI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.exceptions import WatchError

from .. import ClockReading
from .fence import Fence, no_fence

_TRIES = 1_000  # optimistic retries under contention; each loses only to a real change


class RedisClockState:
    """One clock for every process sharing the prefix: moved through any, read by all."""

    def __init__(self, client: Any, prefix: str, fence: Fence = no_fence) -> None:
        self._r = client
        self.key = prefix + "clock"  # read by the request gate too
        self._fence = fence

    @property
    def reading(self) -> ClockReading:
        """(offset_ms, frozen_at): one GET."""
        return parse_reading(self._r.get(self.key))

    def update(self, change: Callable[[ClockReading], ClockReading]) -> ClockReading:
        """Apply `change` atomically: retried if another process moved the clock meanwhile."""
        with self._r.pipeline(transaction=True) as pipe:
            for _ in range(_TRIES):
                try:
                    pipe.watch(self.key)
                    new = change(parse_reading(pipe.get(self.key)))
                    pipe.multi()
                    pipe.set(self.key, format_reading(new))
                    pipe.execute()
                    self._fence()  # no process answers from the old state after this
                    return new
                except WatchError:
                    continue
        raise RuntimeError(f"the clock kept changing under {_TRIES} tries to move it")


def parse_reading(data: bytes | None) -> ClockReading:
    """The state as kept: "offset,frozen" (frozen empty when running); none kept is (0, None)."""
    if data is None:
        return (0, None)
    offset, frozen = data.decode().split(",")
    return (int(offset), int(frozen) if frozen else None)


def format_reading(reading: ClockReading) -> str:
    """The text `parse_reading` reads back."""
    offset, frozen = reading
    return f"{offset},{'' if frozen is None else frozen}"
