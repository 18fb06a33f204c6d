"""A value one thread holds for the length of a block: what one request read of shared state."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Held(Generic[T]):
    """Per thread: a value put within a `block()` and dropped when the outermost block ends.

    Outside a block nothing is held (`put` is ignored), so a value read for
    one request never leaks into the next one on the same thread.
    """

    __slots__ = ("_block", "_local")

    def __init__(self) -> None:
        self._local = threading.local()
        self._block = ThreadBlock(self._local, "value")

    def block(self) -> ThreadBlock:
        """Hold values put from here to the end of the block (blocks nest)."""
        return self._block

    def get(self) -> T | None:
        """The value held by this thread, or None."""
        return getattr(self._local, "value", None)

    def put(self, value: T) -> None:
        """Hold `value` until the block ends; outside a block, nothing happens."""
        local = self._local
        if getattr(local, "depth", 0):
            local.value = value


class ThreadBlock:
    """A block per thread over `local` (they nest): `field` is dropped when the outermost ends.

    A plain class, not a generator context manager: one is entered on every
    request, and this costs a fraction. It keeps nothing itself (the thread's
    `local` does), so one instance serves every thread.
    """

    __slots__ = ("_field", "_local")

    def __init__(self, local: threading.local, field: str) -> None:
        self._local = local
        self._field = field

    def __enter__(self) -> None:
        local = self._local
        local.depth = getattr(local, "depth", 0) + 1

    def __exit__(self, *exc: object) -> None:
        local = self._local
        local.depth -= 1
        if not local.depth:
            setattr(local, self._field, None)


class ThreadBlocks:
    """Two `ThreadBlock`s entered as one, in one call each way (a request enters both)."""

    __slots__ = ("_first", "_first_field", "_second", "_second_field")

    def __init__(self, first: ThreadBlock, second: ThreadBlock) -> None:
        self._first, self._first_field = first._local, first._field
        self._second, self._second_field = second._local, second._field

    def __enter__(self) -> None:
        first, second = self._first, self._second
        first.depth = getattr(first, "depth", 0) + 1
        second.depth = getattr(second, "depth", 0) + 1

    def __exit__(self, *exc: object) -> None:
        first, second = self._first, self._second
        second.depth -= 1
        if not second.depth:
            setattr(second, self._second_field, None)
        first.depth -= 1
        if not first.depth:
            setattr(first, self._first_field, None)
