"""A value one thread holds for the length of a block: what one request read of shared state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class Held(Generic[T]):
    """Per thread: a value put within a `block()` and dropped when the outermost block ends.

    Outside a block nothing is held (`put` is ignored), so a value read for
    one request never leaks into the next one on the same thread.
    """

    __slots__ = ("_local",)

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def block(self) -> Iterator[None]:
        """Hold values put from here to the end of the block (blocks nest)."""
        local = self._local
        depth = getattr(local, "depth", 0)
        local.depth = depth + 1
        try:
            yield
        finally:
            local.depth = depth
            if depth == 0:
                local.value = None

    def get(self) -> T | None:
        """The value held by this thread, or None."""
        return getattr(self._local, "value", None)

    def put(self, value: T) -> None:
        """Hold `value` until the block ends; outside a block, nothing happens."""
        local = self._local
        if getattr(local, "depth", 0):
            local.value = value
