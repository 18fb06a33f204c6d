"""Memory after many tasks: submits through the core service and reports the RSS.

Every task goes through `MockService.submit` (validation, rules, admission,
charge), on a frozen mock clock that moves 1 ms per submit, with the instant
profile, so tasks keep finishing and settling as a busy server's would. No
HTTP: this measures what the mock's state costs, not the web stack's.

    .venv/bin/python bench/memory.py [--tasks 1000000] [--max-tasks N] [--task-ttl-s S]

`--max-tasks` and `--task-ttl-s` default to the server's defaults. Prints the
resident set size before and after (from /proc/self/status where there is
one), the peak (getrusage), and how many tasks the store still holds.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from mock_server.core.callbacks import SendResult
from mock_server.core.clock import MockClock
from mock_server.core.service import MockService
from mock_server.settings import Settings

START_MS = 1_767_965_610_929
KEYS = tuple(f"bench-key-{n:02d}" for n in range(8))
BODY = json.dumps({"input": {"mode": "gpt-image-1", "prompt": "a lighthouse at dusk"}}).encode()


class NoSender:
    """Callbacks are never asked for here; a sender is still part of the service."""

    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        return SendResult(200, None, 0.0)


def rss_mib() -> float:
    """The resident set size now, in MiB (the peak where /proc is missing)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return peak_mib()


def peak_mib() -> float:
    """The peak resident set size so far, in MiB (Linux counts KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run(tasks: int, settings: Settings) -> dict[str, float]:
    """Submit `tasks` tasks; the RSS before and after, the peak, and the tasks kept."""
    service = MockService(
        settings.core_config(), sender=NoSender(), clock=MockClock(lambda: START_MS)
    )
    before = rss_mib()
    started = time.perf_counter()
    for n in range(tasks):
        service.submit(KEYS[n % len(KEYS)], BODY, "application/json", "http://127.0.0.1:8000")
        service.clock.advance(1)
    seconds = time.perf_counter() - started
    after = rss_mib()
    kept = len(service.tasks)
    service.close()
    return {"before": before, "after": after, "peak": peak_mib(), "kept": kept, "s": seconds}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line of figures."""
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--max-tasks", type=int, default=defaults.max_tasks)
    parser.add_argument("--task-ttl-s", type=int, default=defaults.task_ttl_s)
    args = parser.parse_args(argv)
    settings = Settings(
        profile="instant",
        seed=1,
        frozen=True,
        access_log=False,
        max_tasks=args.max_tasks,
        task_ttl_s=args.task_ttl_s,
    )
    figures = run(args.tasks, settings)
    print(
        f"{args.tasks} tasks (max_tasks={args.max_tasks}, task_ttl_s={args.task_ttl_s}): "
        f"RSS {figures['before']:.0f} MiB before, {figures['after']:.0f} MiB after, "
        f"peak {figures['peak']:.0f} MiB; {figures['kept']:.0f} tasks kept; "
        f"{figures['s']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
