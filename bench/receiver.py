"""Round trips per second to the CallbackReceiver on one kept-alive connection.

The receiver turns Nagle's algorithm off; with it on, each kept-alive answer
waits for the client's delayed ACK (about 40 ms). The test suite checks the
socket option (tests/test_receiver.py); this measures what it buys.

    .venv/bin/python bench/receiver.py [--requests 200]

Prints the round trips, the time they took and the mean per round trip.
"""

from __future__ import annotations

import argparse
import http.client
import time
from urllib.parse import urlsplit

from mock_server.testing.receiver import CallbackReceiver


def round_trips_s(receiver: CallbackReceiver, count: int) -> float:
    """Seconds for `count` POSTs answered on one kept-alive connection."""
    parts = urlsplit(receiver.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    started = time.perf_counter()
    try:
        for _ in range(count):
            connection.request("POST", "/", body=b"{}")
            connection.getresponse().read()
    finally:
        connection.close()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    with CallbackReceiver() as receiver:
        round_trips_s(receiver, 10)  # warm-up
        elapsed = round_trips_s(receiver, args.requests)
    mean_ms = elapsed * 1000 / args.requests
    print(f"receiver: {args.requests} round trips in {elapsed:.3f} s, {mean_ms:.2f} ms each")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
