"""Redis URLs for the shared store: checked before use, opened as one client per service.

Outside the stores package, so that the shell can check `--store` at start-up
(one clear line, exit 2) without touching a store.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.client import Pipeline

from .errors import Unavailable

SCHEMES = ("redis", "rediss", "unix")
_CONNECT_TIMEOUT_S = 5.0
_MAX_KEPT = 64  # threads with a connection of their own; redis-py's pool holds 100


def url_problem(url: str) -> str | None:
    """Why `url` is no Redis URL redis-py can open, or None."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        return f"{url!r} is not a redis://HOST:PORT/DB URL (schemes: {', '.join(SCHEMES)})"
    try:
        redis.connection.parse_url(url)  # type: ignore[no-untyped-call]
        parts.port  # noqa: B018 -- raises ValueError on a port that is no number
    except ValueError as exc:
        return f"{url!r} is not a valid Redis URL: {exc}"
    if parts.scheme != "unix" and not parts.hostname:
        return f"{url!r} names no host"
    return None


class StoreUnavailable(Unavailable):
    """Redis stopped answering while the mock runs: a 503 in the envelope, not a 500."""

    message = "The mock's shared store (Redis) is unreachable"


_DOWN = (redis.ConnectionError, redis.TimeoutError)


class _Pipeline(Pipeline):
    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except _DOWN as exc:
            raise StoreUnavailable() from exc

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            return super().execute(raise_on_error)
        except _DOWN as exc:
            raise StoreUnavailable() from exc


class _Client(redis.Redis):
    """redis-py's client on one kept connection per thread, its failures `StoreUnavailable`.

    redis-py checks a connection out of its pool for every command (a lock, a
    poll for stray data, metrics): on the hot path that cost more than the
    round trip itself. Here a thread checks one out once and keeps it, so a
    command is pack, send, read; it goes back to the pool when its thread is
    found gone. Past `_MAX_KEPT` threads, a thread checks out per command as
    before (the pool keeps room for pipelines and locks).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept = threading.local()
        self._kept_lock = threading.Lock()
        self._kept_by_thread: dict[threading.Thread, Any] = {}
        self._kept_pid = os.getpid()
        self._closes = 0  # a connection kept before a close() went back to the pool

    def _connection(self) -> Any:
        conn = getattr(self._kept, "conn", None)
        if conn is not None and self._kept.pid == os.getpid() and self._kept.closes == self._closes:
            return conn
        with self._kept_lock:
            if self._kept_pid != os.getpid():  # a forked child: the parent's are not ours
                self._kept_by_thread, self._kept_pid = {}, os.getpid()
            self._release_kept(lambda thread: not thread.is_alive())
            if len(self._kept_by_thread) >= _MAX_KEPT:
                return None
            conn = self.connection_pool.get_connection()
            self._kept_by_thread[threading.current_thread()] = conn
        self._kept.conn, self._kept.pid, self._kept.closes = conn, os.getpid(), self._closes
        return conn

    def _release_kept(self, gone: Any) -> None:
        for thread in [t for t in self._kept_by_thread if gone(t)]:
            self.connection_pool.release(self._kept_by_thread.pop(thread))

    def execute_command(self, *args: Any, **options: Any) -> Any:
        conn = None
        try:
            conn = self._connection()  # checking one out connects: it may fail too
            if conn is None:
                return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
            try:
                return self._send_and_parse(conn, args, options)
            except _DOWN:
                # A kept connection may have gone stale (Redis restarted): reconnect
                # once, as redis-py's own retry would.
                conn.disconnect()
            return self._send_and_parse(conn, args, options)
        except _DOWN as exc:
            if conn is not None:
                conn.disconnect()
            raise StoreUnavailable() from exc

    def _send_and_parse(self, conn: Any, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        conn.send_command(*args, **options)
        return self.parse_response(conn, args[0], **dict(options))  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """Close the pool's connections and every thread's kept one."""
        with self._kept_lock:
            self._release_kept(lambda _: True)
            self._closes += 1
        super().close()

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        return _Pipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def connect(url: str) -> Any:
    """A client (a thread-safe connection pool) for `url`; connects on first use."""
    return _Client.from_url(
        url, socket_connect_timeout=_CONNECT_TIMEOUT_S, health_check_interval=30
    )


def reach_problem(url: str) -> str | None:
    """Why Redis at `url` cannot be used now (unreachable, refuses PING), or None."""
    client = connect(url)
    try:
        client.ping()
    except StoreUnavailable as exc:
        return f"cannot reach Redis at {url}: {exc.__cause__}"
    except redis.RedisError as exc:  # answers, but refuses (a password, a wrong database)
        return f"cannot use Redis at {url}: {exc}"
    finally:
        client.close()
    return None
