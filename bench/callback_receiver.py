"""A callback receiver for benchmarks: granian serving a tiny RSGI app in its own process.

Rust does the HTTP work, so the receiver is not what a callback benchmark measures.
`ReceiverProcess` starts it on a free loopback port and stops it; run this file
alone to measure the receiver by itself:

    .venv/bin/python bench/callback_receiver.py --seconds 3
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Protocol

from granian.rsgi import Scope

HERE = Path(__file__).resolve().parent
ANSWER = b'{"code":200,"message":"success","data":null}'
HEADERS = [("content-type", "application/json")]


class HTTPProtocol(Protocol):
    """The part of granian's RSGI HTTP protocol object the app uses."""

    async def __call__(self) -> bytes: ...

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None: ...


async def app(scope: Scope, protocol: HTTPProtocol) -> None:
    """Read the callback and answer 200."""
    await protocol()
    protocol.response_bytes(200, HEADERS, ANSWER)


def free_port() -> int:
    """A port the OS says is free now (granian binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ReceiverProcess:
    """granian serving `app` on a free loopback port, in a child process."""

    def __init__(self, *, workers: int = 1) -> None:
        self.workers = workers
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> None:
        command = [
            *(sys.executable, "-m", "granian", "--interface", "rsgi", "--no-ws"),
            *("--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)),
            *("--log-level", "warning", "--backlog", "4096", "callback_receiver:app"),
        ]
        self._process = subprocess.Popen(command, cwd=HERE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # bounded readiness probe
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self._process.poll() is not None:
                    break
                time.sleep(0.05)
        self.close()
        raise RuntimeError("the benchmark receiver did not start")

    def close(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
        self._process = None

    def __enter__(self) -> ReceiverProcess:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _client(url: str, seconds: float, threads: int, results: multiprocessing.Queue[int]) -> None:
    """One load process: `threads` keep-alive connections posting as fast as they can."""
    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def loop(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=10)
        while time.monotonic() < deadline:
            connection.request(
                "POST", "/cb", body=ANSWER, headers={"Content-Type": "application/json"}
            )
            connection.getresponse().read()
            counts[slot] += 1
        connection.close()

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 30)
    results.put(sum(counts))


def measure(url: str, *, seconds: float, processes: int, threads: int) -> float:
    """Requests per second the receiver answered under `processes` x `threads` clients."""
    results: multiprocessing.Queue[int] = multiprocessing.Queue()
    clients = [
        multiprocessing.Process(target=_client, args=(url, seconds, threads, results))
        for _ in range(processes)
    ]
    for client in clients:
        client.start()
    total = sum(results.get(timeout=seconds + 60) for _ in clients)
    for client in clients:
        client.join(30)
    return total / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    print("workers  client procs x threads  req/s")
    for workers in (1, 2):
        with ReceiverProcess(workers=workers) as receiver:
            for processes, threads in ((1, 4), (2, 4), (3, 4)):
                rate = measure(
                    receiver.url, seconds=args.seconds, processes=processes, threads=threads
                )
                print(f"{workers:>7}  {processes:>12} x {threads:<7}  {rate:>8,.0f}")


if __name__ == "__main__":
    main()
