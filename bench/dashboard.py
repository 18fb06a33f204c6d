"""How long the dashboard's pages take with 100,000 tasks stored (the issue asks < 200 ms).

Fills a served mock (waitress on a free loopback port, as `MockServer` serves)
with tasks through `MockService.submit`, on a frozen clock moved 1 ms per
submit with the quick profile, so the store holds every state; a few keys
and prompts vary. Then GETs each page over HTTP, as a browser would, and
prints the median and the 95th percentile per page. A figure, never a test:
the machine's load changes it.

    PYTHONPATH=. .venv/bin/python bench/dashboard.py [--tasks 100000] [--rounds 30]

The worst case is a filter that matches nothing: the whole store is scanned.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import requests

from mock_server.testing.server import MockServer

KEYS = tuple(f"bench-key-{n:02d}" for n in range(8))
PROMPTS = ("a lighthouse at dusk", "two teacups", "a red bicycle", "a paper boat")
ORIGIN = "http://127.0.0.1:8000"


def fill(mock: MockServer, tasks: int) -> str:
    """Submit `tasks` tasks through the service; the id of the one in the middle."""
    service = mock.service
    middle = ""
    for n in range(tasks):
        body = {"input": {"mode": "gpt-image-1", "prompt": f"{PROMPTS[n % 4]} #{n}"}}
        made = service.submit(
            KEYS[n % len(KEYS)], json.dumps(body).encode(), "application/json", ORIGIN
        )
        service.clock.advance(1)
        if n == tasks // 2:
            middle = made.task.task_id
    return middle


def pages(middle: str, older: int) -> dict[str, str]:
    """The pages measured: each page once, and the task list under its filters."""
    ui = "/__admin/ui"
    return {
        "tasks (newest 50)": ui,
        "tasks, 200 a page": f"{ui}?size=200",
        "tasks, a page in the middle": f"{ui}?before={older}",
        "tasks, state=pending": f"{ui}?state=pending",
        "tasks, key ...-03": f"{ui}?key=-03",
        "tasks, text (rare)": f"{ui}?q=%2377777",
        "tasks, text matching none (full scan)": f"{ui}?q=no-such-text",
        "tasks, live refresh (partial)": f"{ui}?partial=1",
        "task page": f"{ui}/tasks/{middle}",
        "callbacks": f"{ui}/callbacks",
        "scenarios": f"{ui}/scenarios",
        "clock": f"{ui}/clock",
        "keys": f"{ui}/keys",
        "models": f"{ui}/models",
    }


def measure(session: requests.Session, url: str, rounds: int) -> list[float]:
    """Milliseconds for each of `rounds` GETs of `url` (after one warm-up)."""
    session.get(url, timeout=30).raise_for_status()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        session.get(url, timeout=30).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    """Fill, measure and print one line per page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    with MockServer(seed=1, profile="quick", max_tasks=0, task_ttl_s=0) as mock:
        started = time.perf_counter()
        middle = fill(mock, args.tasks)
        print(f"{len(mock.service.tasks)} tasks stored in {time.perf_counter() - started:.1f} s")
        session = requests.Session()
        older = args.tasks // 2
        for name, path in pages(middle, older).items():
            times = sorted(measure(session, mock.base_url + path, args.rounds))
            p95 = times[min(len(times) - 1, round(len(times) * 0.95) - 1)]
            print(f"{name:40} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
