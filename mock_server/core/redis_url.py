"""Redis URLs for the shared store: checked before use, opened as one client per service.

Outside the stores package, so that the shell can check `--store` at start-up
(one clear line, exit 2) without touching a store.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis

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


def connect(url: str) -> Any:
    """A client (a thread-safe connection pool) for `url`; connects on first use."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=_CONNECT_TIMEOUT_S, health_check_interval=30
    )


def reach_problem(url: str) -> str | None:
    """Why Redis at `url` cannot be used now (unreachable, refuses PING), or None."""
    client = connect(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"cannot reach Redis at {url}: {exc}"
    finally:
        client.close()
    return None
