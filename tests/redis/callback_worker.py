"""A callback dispatcher in a process of its own on a shared Redis, for the kill test.

    python -m tests.redis.callback_worker REDIS_URL NOW_MS POSTS

Its clock is frozen at NOW_MS. Its one sender records each POST in Redis
(the body RPUSHed to `test:sent`, and a token to `test:signal` for a
waiting test), and after POSTS posts hangs before the next one, as a
process killed mid-delivery leaves it (`test:stalled` says so). It runs
until killed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping

import redis

from mock_server.core.callbacks import CallbackDispatcher, CallbackPolicy, SendResult
from mock_server.core.clock import MockClock
from mock_server.core.stores.redis.deliveries import RedisDeliveries

LEASE_MS = 500


class StallingSender:
    """Records `posts` POSTs in Redis, then hangs in every later one."""

    def __init__(self, client: redis.Redis, posts: int) -> None:
        self._client = client
        self._posts = posts
        self._lock = threading.Lock()
        self._count = 0

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        with self._lock:
            self._count += 1
            stall = self._count > self._posts
        if stall:
            self._client.rpush("test:stalled", 1)
            threading.Event().wait()  # until the process is killed
        self._client.rpush("test:sent", body)
        self._client.rpush("test:signal", 1)
        return SendResult(200, None, 0.1)


def main() -> None:
    """Run the dispatcher until killed."""
    url, now, posts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    client = redis.Redis.from_url(url)
    dispatcher = CallbackDispatcher(
        MockClock(lambda: now, frozen=True),
        StallingSender(client, posts),
        # One sender: when it hangs in POST number POSTS + 1, the POSTS before are settled.
        CallbackPolicy(jitter=0.0, senders=1),
        deliveries=RedisDeliveries(client, lease_ms=LEASE_MS),
        render=lambda task_id: task_id.encode(),
    )
    dispatcher.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
