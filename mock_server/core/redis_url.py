"""Redis URLs for the shared store: checked before use, opened as one client per service.

Outside the stores package, so that the shell can check `--store` at start-up
(one clear line, exit 2) without touching a store.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis
from redis.client import Pipeline

from .errors import Unavailable

SCHEMES = ("redis", "rediss", "unix")
_CONNECT_TIMEOUT_S = 5.0


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
    """redis-py's client, its connection failures turned into `StoreUnavailable`."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except _DOWN as exc:
            raise StoreUnavailable() from exc

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
