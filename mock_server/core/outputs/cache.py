"""A bounded LRU of rendered outputs that renders each key at most once at a time.

Videos and long audio cost hundreds of milliseconds to encode, and a client
that polls a finished task often fetches its file several times at once. So
the first request for a key renders it and every concurrent request for the
same key waits for that render (a per-key Future) instead of starting its
own. The cache is bounded by total bytes, not by item count: one 1080p video
weighs as much as a thousand small images.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class RenderCache(Generic[K]):
    """Thread-safe, byte-bounded LRU cache of rendered bytes, keyed by shape."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self._max_bytes = max_bytes
        self._items: OrderedDict[K, bytes] = OrderedDict()
        self._pending: dict[K, Future[bytes]] = {}
        self._size = 0
        self._lock = threading.Lock()

    def get_or_render(self, key: K, render: Callable[[], bytes]) -> bytes:
        """The bytes cached for `key`, calling `render` only if no one has or is.

        A render that raises is not cached: the error reaches the caller and
        every thread waiting on the same key, and the next request tries again.
        """
        with self._lock:
            cached = self._items.get(key)
            if cached is not None:
                self._items.move_to_end(key)
                return cached
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                pending = self._pending[key] = Future()
        if owner:
            self._render(key, render, pending)
        return pending.result()

    def _render(self, key: K, render: Callable[[], bytes], pending: Future[bytes]) -> None:
        try:
            data = render()
        except BaseException as exc:  # waiters must hear of any failure, then it propagates
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)
            return
        with self._lock:
            del self._pending[key]
            self._store(key, data)
        pending.set_result(data)

    def _store(self, key: K, data: bytes) -> None:
        if len(data) > self._max_bytes:
            return  # served once, never cached: it would evict everything else
        self._items[key] = data
        self._size += len(data)
        while self._size > self._max_bytes:
            _, evicted = self._items.popitem(last=False)
            self._size -= len(evicted)

    @property
    def size_bytes(self) -> int:
        """Total bytes held now."""
        with self._lock:
            return self._size

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def clear(self) -> None:
        """Drop every cached output (renders under way still finish and are stored)."""
        with self._lock:
            self._items.clear()
            self._size = 0
