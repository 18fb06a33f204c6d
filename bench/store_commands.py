"""Redis commands and round trips per request on the Redis store: a measure load cannot skew.

    python bench/store_commands.py [--requests 200]

Serves the app (Flask test client, the same WSGI stack as `serve`) on a
throwaway redis-server and counts, per status read and per submit, the
commands Redis ran (`INFO commandstats`) and the round trips the client made
(calls of the connection's `send_packed_command`: a pipeline is one).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from redis.connection import Connection

from mock_server.settings import Settings
from mock_server.testing.redis_server import redis_server
from mock_server.web.app import create_app

KEY = "bench-key-0001"
BODY = {"input": {"mode": "gpt-image-1", "prompt": "a fox"}}


def commands(client: redis.Redis) -> dict[str, int]:
    """Calls per command since the last CONFIG RESETSTAT."""
    stats: dict[str, Any] = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()}


def per_request(
    client: redis.Redis, requests: int, send: Callable[[], None]
) -> tuple[float, float, dict[str, float]]:
    """Round trips and commands per call of `send`, and the commands by name."""
    trips = [0]
    original: Any = Connection.send_packed_command

    def counted(self: Connection, command: Any, check_health: bool = True) -> None:
        trips[0] += 1
        original(self, command, check_health)

    client.config_resetstat()
    Connection.send_packed_command = counted  # type: ignore[method-assign,assignment]
    try:
        for _ in range(requests):
            send()
    finally:
        Connection.send_packed_command = original  # type: ignore[method-assign]
    counts = {k: v for k, v in commands(client).items() if k not in ("config|resetstat",)}
    by_name = {name: calls / requests for name, calls in sorted(counts.items())}
    return trips[0] / requests, sum(counts.values()) / requests, by_name


def ok(response: Any) -> None:
    """Only answered requests count: a refusal makes fewer calls."""
    if response.status_code != 200:
        raise SystemExit(f"the mock answered {response.status_code}: {response.data!r}")


def main() -> int:
    """Count for status and submit, and print one line each."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, redis_server(Path(directory)) as server:
        settings = Settings(
            store=server.url, access_log=False, keys=(KEY,), rpm=10**9, max_unfinished=10**9
        )
        app = create_app(settings)
        web = app.test_client()
        auth = {"Authorization": f"Bearer {KEY}"}
        path = "/api/v1/generateTask/gpt-image-1"
        task_id = web.post(path, json=BODY, headers=auth).get_json()["data"]["taskId"]
        status = f"/api/v1/statusTask/gpt-image-1?taskId={task_id}"
        client = redis.Redis.from_url(server.url)
        runs = {
            "status": lambda: ok(web.get(status, headers=auth)),
            "submit": lambda: ok(web.post(path, json=BODY, headers=auth)),
        }
        for name, send in runs.items():
            trips, total, by_name = per_request(client, args.requests, send)
            detail = ", ".join(f"{k} {v:g}" for k, v in by_name.items())
            print(f"{name}: {trips:.2f} round trips, {total:.2f} commands ({detail})")
        app.extensions["apixo_mock"].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
