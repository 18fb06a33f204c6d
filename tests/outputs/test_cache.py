"""RenderCache: one render per key under concurrency, bounded by bytes, LRU order."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

import pytest

from mock_server.core.outputs import cache as cache_module
from mock_server.core.outputs.cache import RenderCache

THREADS = 8
DEADLINE_S = 10.0
T = TypeVar("T")


class WaitingFutures:
    """Counts threads blocked on a cache Future, so a test can wait until all have joined."""

    def __init__(self) -> None:
        self.waiting = 0
        self.changed = threading.Condition()

    def future_class(self) -> type[Future[bytes]]:
        """A Future that reports each caller of result() before it blocks."""
        counter = self

        class CountingFuture(Future[bytes]):
            def result(self, timeout: float | None = None) -> bytes:
                with counter.changed:
                    counter.waiting += 1
                    counter.changed.notify_all()
                return super().result(timeout)

        return CountingFuture


def counting_render(data: bytes, calls: list[int]) -> Callable[[], bytes]:
    def render() -> bytes:
        calls.append(1)
        return data

    return render


def in_threads(count: int, target: Callable[[], T]) -> tuple[list[threading.Thread], list[T]]:
    results: list[T] = []
    threads = [threading.Thread(target=lambda: results.append(target())) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


def test_eight_concurrent_requests_render_once_and_get_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    futures = WaitingFutures()
    monkeypatch.setattr(cache_module, "Future", futures.future_class())
    cache: RenderCache[str] = RenderCache(max_bytes=1_000)
    started, release, calls = threading.Event(), threading.Event(), []

    def slow_render() -> bytes:
        calls.append(1)
        started.set()
        assert release.wait(DEADLINE_S)
        return b"video"

    owner, owner_result = in_threads(1, lambda: cache.get_or_render("k", slow_render))
    assert started.wait(DEADLINE_S)
    others, results = in_threads(THREADS - 1, lambda: cache.get_or_render("k", slow_render))
    with futures.changed:
        # Every other thread is blocked on the owner's render before it finishes.
        assert futures.changed.wait_for(lambda: futures.waiting == THREADS - 1, DEADLINE_S)
    release.set()
    for thread in owner + others:
        thread.join(DEADLINE_S)
    assert len(calls) == 1
    assert owner_result + results == [b"video"] * THREADS


def test_a_cached_key_is_not_rendered_again() -> None:
    cache: RenderCache[str] = RenderCache(max_bytes=100)
    calls: list[int] = []
    assert cache.get_or_render("a", counting_render(b"one", calls)) == b"one"
    assert cache.get_or_render("a", counting_render(b"two", calls)) == b"one"
    assert len(calls) == 1


def test_a_failed_render_reaches_the_caller_and_is_not_cached() -> None:
    cache: RenderCache[str] = RenderCache(max_bytes=100)

    def broken() -> bytes:
        raise RuntimeError("encoder failed")

    with pytest.raises(RuntimeError, match="encoder failed"):
        cache.get_or_render("a", broken)
    assert "a" not in cache
    assert cache.get_or_render("a", lambda: b"ok") == b"ok"


def test_the_least_recently_used_entry_goes_first_when_bytes_run_out() -> None:
    cache: RenderCache[str] = RenderCache(max_bytes=10)
    for key in ("a", "b"):
        cache.get_or_render(key, lambda: b"4444")
    cache.get_or_render("a", lambda: b"used")  # a is now the most recent
    cache.get_or_render("c", lambda: b"4444")
    assert "a" in cache
    assert "b" not in cache
    assert "c" in cache
    assert cache.size_bytes == 8
    assert len(cache) == 2


def test_an_output_larger_than_the_cache_is_served_but_not_kept() -> None:
    cache: RenderCache[str] = RenderCache(max_bytes=4)
    cache.get_or_render("small", lambda: b"1234")
    assert cache.get_or_render("big", lambda: b"12345") == b"12345"
    assert "big" not in cache
    assert "small" in cache


def test_clear_drops_everything() -> None:
    cache: RenderCache[str] = RenderCache(max_bytes=10)
    cache.get_or_render("a", lambda: b"1234")
    cache.clear()
    assert len(cache) == 0
    assert cache.size_bytes == 0


def test_a_negative_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        RenderCache(max_bytes=-1)
