"""How long the pytest plugin's mock takes to be ready: `MockServer(...)` to a first answer.

Each run builds a server with the fixture's defaults (frozen clock, free
loopback port), starts it and times until a first API request (a balance read)
comes back 200; then it closes the server, outside the timing. Imports are
warmed up first: they are paid once per test session, not once per test.

    .venv/bin/python bench/startup.py [--runs 30] [--budget-ms 150]

Prints the median, p95 and max in milliseconds; exits 1 if the median is over budget.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import time

from mock_server.testing.server import MockServer

_BALANCE = "/api/v1/apikeys/current-balance"


def first_answer_ms() -> float:
    """Milliseconds from constructing a MockServer to its first 200 answer."""
    started = time.perf_counter()
    server = MockServer()
    try:
        server.start()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", _BALANCE, headers=server.headers)
        status = connection.getresponse().status
        elapsed = (time.perf_counter() - started) * 1000
        connection.close()
    finally:
        server.close()
    if status != 200:
        raise RuntimeError(f"the first request answered {status}")
    return elapsed


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `samples`."""
    ordered = sorted(samples)
    return ordered[max(0, round(fraction * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--budget-ms", type=float, default=150.0)
    args = parser.parse_args(argv)
    first_answer_ms()  # warm-up: imports, schema compilation, first Flask request
    samples = [first_answer_ms() for _ in range(args.runs)]
    median = statistics.median(samples)
    p95 = percentile(samples, 0.95)
    print(
        f"MockServer ready (construction to first 200) over {args.runs} runs: "
        f"median {median:.1f} ms, p95 {p95:.1f} ms, min {min(samples):.1f} ms, "
        f"max {max(samples):.1f} ms (budget {args.budget_ms:g} ms)"
    )
    return 0 if median <= args.budget_ms else 1


if __name__ == "__main__":
    sys.exit(main())
