"""Callback receivers for benchmarks, each in its own process on a free loopback port.

`granian`: granian serving a tiny RSGI app. Rust does the HTTP work, so the
receiver is not what a callback benchmark measures.

`stdlib-1.1` and `stdlib-1.0`: an ordinary receiver as users write one, Python's
`http.server.ThreadingHTTPServer` with a `BaseHTTPRequestHandler` that answers
with `send_response`, `send_header`, `end_headers` and `wfile.write`: the head
and the body in two writes, with Nagle's algorithm on. With protocol HTTP/1.1
it keeps connections alive; with HTTP/1.0 (the handler's default) it closes
each one after answering.

`ReceiverProcess` starts one and stops it; run this file alone to measure the
receivers by themselves:

    .venv/bin/python bench/callback_receiver.py --seconds 3
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import multiprocessing
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol

from granian.rsgi import Scope

HERE = Path(__file__).resolve().parent
ANSWER = b'{"code":200,"message":"success","data":null}'
HEADERS = [("content-type", "application/json")]
Kind = Literal["granian", "stdlib-1.1", "stdlib-1.0"]
KINDS: tuple[Kind, ...] = ("granian", "stdlib-1.1", "stdlib-1.0")


class HTTPProtocol(Protocol):
    """The part of granian's RSGI HTTP protocol object the app uses."""

    async def __call__(self) -> bytes: ...

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None: ...


async def app(scope: Scope, protocol: HTTPProtocol) -> None:
    """Read the callback and answer 200."""
    await protocol()
    protocol.response_bytes(200, HEADERS, ANSWER)


class StdlibHandler(http.server.BaseHTTPRequestHandler):
    """An ordinary receiver: reads the callback, answers 200 in two writes (head, body)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a log line per request would be what the benchmark measures."""


def serve_stdlib(port: int, protocol: str) -> None:
    """Serve `StdlibHandler` with `protocol` ("HTTP/1.1" or "HTTP/1.0") until killed."""
    StdlibHandler.protocol_version = protocol
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), StdlibHandler)
    server.request_queue_size = 1024
    server.serve_forever()


def free_port() -> int:
    """A port the OS says is free now (granian binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ReceiverProcess:
    """A receiver of `kind` on a free loopback port, in a child process."""

    def __init__(self, *, workers: int = 1, kind: Kind = "granian") -> None:
        self.workers = workers
        self.kind = kind
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        if self.kind != "granian":
            protocol = "HTTP/" + self.kind.removeprefix("stdlib-")
            return [sys.executable, __file__, "--serve-stdlib", protocol, "--port", str(self.port)]
        return [
            *(sys.executable, "-m", "granian", "--interface", "rsgi", "--no-ws"),
            *("--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)),
            *("--log-level", "warning", "--backlog", "4096", "callback_receiver:app"),
        ]

    def start(self, timeout_s: float = 15.0) -> None:
        command = self._command()
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
    parser.add_argument("--serve-stdlib", metavar="PROTOCOL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stdlib:
        serve_stdlib(args.port, args.serve_stdlib)
        return
    print("receiver     workers  client procs x threads  req/s")
    for kind in KINDS:
        for workers in (1, 2) if kind == "granian" else (1,):
            with ReceiverProcess(workers=workers, kind=kind) as receiver:
                for processes, threads in ((1, 4), (2, 4), (3, 4)):
                    rate = measure(
                        receiver.url, seconds=args.seconds, processes=processes, threads=threads
                    )
                    print(f"{kind:<11} {workers:>8}  {processes:>12} x {threads:<7}  {rate:>8,.0f}")


if __name__ == "__main__":
    main()
