"""Callback receivers for benchmarks, each in its own process on a free loopback port.

`minimal`: an asyncio server (`MinimalReceiver`) that parses each request's
head and Content-Length, records the delivery (its path, counted) and answers
200 with a fixed head and body in one write; keep-alive and pipelined
requests as HTTP/1.1 has them, `Connection: close` and HTTP/1.0 honoured,
anything it does not handle (a chunked body, a bad head) answered with an
error and a hang-up. It is what a receiver written for throughput spends on a
callback, a fraction of granian's CPU per request here, so the machine's two
cores go to the mock being measured. One process (one core at most, plenty
for 10,000 callbacks a second); `GET /count` answers how many POSTs it
recorded, so a benchmark can check that every callback arrived.

`granian`: granian serving a tiny RSGI app. Rust does the HTTP work, but every
request still goes through a Python coroutine.

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
import asyncio
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
Kind = Literal["minimal", "granian", "stdlib-1.1", "stdlib-1.0"]
KINDS: tuple[Kind, ...] = ("minimal", "granian", "stdlib-1.1", "stdlib-1.0")
_HEAD_LIMIT = 64 * 1024


def _answer(status: str, body: bytes, *, close: bool = False) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\n" + ("Connection: close\r\n" if close else "")
    return head.encode() + b"\r\n" + body


_OK = _answer("200 OK", ANSWER)
_OK_CLOSE = _answer("200 OK", ANSWER, close=True)
_BAD = _answer("400 Bad Request", b'{"code":400,"message":"bad request","data":null}', close=True)


class MinimalReceiver(asyncio.Protocol):
    """One connection of the `minimal` receiver: requests parsed, recorded and answered in order."""

    def __init__(self, deliveries: dict[str, int]) -> None:
        self._deliveries = deliveries  # path -> POSTs received, shared by all connections
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._transport is not None and self._answer_one():
            pass

    def _answer_one(self) -> bool:
        """Answer the first complete request in the buffer; False if there is none (yet)."""
        assert self._transport is not None
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _HEAD_LIMIT:
                self._fail()
            return False
        lines = self._buffer[:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        fields = dict(_field(line) for line in lines[1:])
        length = fields.get("content-length", "0")
        if len(parts) != 3 or not length.isdigit() or "transfer-encoding" in fields:
            self._fail()  # unparsable, or a chunked body this receiver does not read
            return False
        stop = end + 4 + int(length)
        if len(self._buffer) < stop:
            return False
        self._buffer = self._buffer[stop:]
        method, target, version = parts
        keep = version == "HTTP/1.1" and "close" not in fields.get("connection", "").lower()
        if method == "GET" and target == "/count":
            count = str(sum(self._deliveries.values())).encode()
            self._transport.write(_answer("200 OK", count, close=not keep))
        else:
            if method == "POST":
                self._deliveries[target] = self._deliveries.get(target, 0) + 1
            self._transport.write(_OK if keep else _OK_CLOSE)
        if keep:
            return True
        self._transport.close()
        self._transport = None
        return False

    def _fail(self) -> None:
        assert self._transport is not None
        self._transport.write(_BAD)
        self._transport.close()
        self._transport = None


def _field(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()


def serve_minimal(port: int) -> None:
    """Serve the `minimal` receiver on `port` until killed."""

    async def serve() -> None:
        deliveries: dict[str, int] = {}
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: MinimalReceiver(deliveries), "127.0.0.1", port, backlog=4096
        )
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


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
        """`workers`: granian's worker processes (the other kinds are one process)."""
        self.workers = workers
        self.kind = kind
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The receiver's process id (granian's workers are its children)."""
        if self._process is None:
            raise RuntimeError("the receiver is not running")
        return self._process.pid

    def count(self) -> int:
        """POSTs the `minimal` receiver recorded so far."""
        if self.kind != "minimal":
            raise RuntimeError("only the minimal receiver counts what it received")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/count")
            return int(connection.getresponse().read())
        finally:
            connection.close()

    def _command(self) -> list[str]:
        if self.kind == "minimal":
            return [sys.executable, __file__, "--serve-minimal", "--port", str(self.port)]
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
    parser.add_argument("--serve-minimal", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_minimal:
        serve_minimal(args.port)
        return
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
