"""Is an honest client still served while many slow clients hold connections open?

    python bench/slow_clients.py [--server granian|waitress|both] [--slow 5000]
        [--honest 5] [--trickle-s 1.0] [--deadline-s 30] [--port 0] [-- extra serve flags]

Starts `apixo-mock serve` on a free loopback port, then opens `--slow`
connections that each send the start of a request and then one more header
byte every `--trickle-s` seconds, never finishing the headers (a slowloris).
With all of them open (or once `--deadline-s` has passed), it times
`--honest` ordinary requests, each on a new connection, while the slow ones
keep trickling. Prints, per server, how many slow connections were open
(and how many the server had closed), and the honest requests' latencies or
failures. Loopback only; everything it starts is stopped.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import resource
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).parents[1]
_START = b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
_BANNER = re.compile(r"serving on http://127\.0\.0\.1:(\d+)")


@dataclass
class SlowCrowd:
    """Slow connections, opened without blocking and fed one byte at a time from one thread."""

    port: int
    count: int
    trickle_s: float
    open: set[socket.socket] = field(default_factory=set)
    closed_by_server: int = 0
    refused: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def connect(self, deadline_s: float) -> float:
        """Open every connection (or as many as `deadline_s` allows); returns the seconds taken."""
        started = time.perf_counter()
        selector = selectors.DefaultSelector()
        for _ in range(self.count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", self.port))
            selector.register(sock, selectors.EVENT_WRITE)
        while selector.get_map() and time.perf_counter() - started < deadline_s:
            for key, _ in selector.select(timeout=0.5):
                ready: socket.socket = key.fileobj  # type: ignore[assignment]
                selector.unregister(ready)
                if ready.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    self._send(ready, _START)
                else:
                    self.refused += 1
                    ready.close()
        for key in list(selector.get_map().values()):  # never connected in time
            self.refused += 1
            key.fileobj.close()  # type: ignore[union-attr]
        selector.close()
        return time.perf_counter() - started

    def start_trickling(self) -> None:
        """Send one more header byte on every open connection every `trickle_s` seconds."""
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(self.trickle_s):
            for sock in list(self.open):
                self._send(sock, b"a")

    def _send(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.send(data)
        except BlockingIOError:
            self.open.add(sock)  # its buffer is full: the server reads nothing yet
        except OSError:
            self.open.discard(sock)
            self.closed_by_server += 1
            sock.close()
        else:
            self.open.add(sock)

    def still_open(self) -> int:
        """Connections the server has not closed (a closed one reads as EOF or an error)."""
        for sock in list(self.open):
            try:
                if sock.recv(1, socket.MSG_PEEK) == b"":
                    raise ConnectionResetError
            except BlockingIOError:
                continue
            except OSError:
                pass
            self.open.discard(sock)
            self.closed_by_server += 1
            sock.close()
        return len(self.open)

    def close(self) -> None:
        """Stop trickling and close every connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in self.open:
            sock.close()
        self.open.clear()


def honest_request(port: int, timeout_s: float) -> float | str:
    """Seconds for one health request on a new connection, or why it failed."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request("GET", "/__admin/health")
        status = connection.getresponse().status
    except OSError as exc:
        return f"{type(exc).__name__} after {time.perf_counter() - started:.1f}s"
    finally:
        connection.close()
    return time.perf_counter() - started if status == 200 else f"status {status}"


def raise_fd_limit(wanted: int) -> None:
    """This process needs one descriptor per slow connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def start_server(server: str, port: int, extra: list[str]) -> tuple[subprocess.Popen[str], int]:
    """`apixo-mock serve` (on `port`; 0: any); the port comes from its start-up line."""
    command = [sys.executable, "-m", "mock_server", "serve", "--server", server]
    command += ["--port", str(port), "--no-access-log", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    for line in process.stderr:
        match = _BANNER.search(line)
        if match:
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining
            return process, int(match.group(1))
    raise RuntimeError(f"apixo-mock serve exited with {process.wait()} before serving")


def wait_healthy(port: int, deadline_s: float = 30.0) -> None:
    """Until the server answers (the worker may still be starting)."""
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_s:
        if isinstance(honest_request(port, 2.0), float):
            return
        time.sleep(0.05)
    raise RuntimeError("the server never answered")


def run_one(server: str, args: argparse.Namespace) -> None:
    """One server's figures."""
    process, port = start_server(server, args.port, args.serve_flags)
    try:
        wait_healthy(port)
        raise_fd_limit(args.slow + 256)  # after the server started: it must cope on its own
        crowd = SlowCrowd(port, args.slow, args.trickle_s)
        try:
            took = crowd.connect(args.deadline_s)
            crowd.start_trickling()
            latencies: list[float] = []
            failures: list[str] = []
            for _ in range(args.honest):
                result = honest_request(port, args.deadline_s)
                (latencies if isinstance(result, float) else failures).append(result)  # type: ignore[arg-type]
            report(server, args, crowd, took, latencies, failures)
        finally:
            crowd.close()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def report(
    server: str,
    args: argparse.Namespace,
    crowd: SlowCrowd,
    took: float,
    latencies: list[float],
    failures: list[str],
) -> None:
    """One line of figures, one more for failures."""
    served = f"{len(latencies)}/{args.honest} honest requests served"
    if latencies:
        served += (
            f", median {statistics.median(latencies) * 1000:.0f} ms,"
            f" max {max(latencies) * 1000:.0f} ms"
        )
    print(
        f"{server}: {args.slow} slow connections attempted in {took:.1f}s,"
        f" {crowd.still_open()} still open ({crowd.refused} never connected,"
        f" {crowd.closed_by_server} closed by the server); {served}",
        flush=True,
    )
    if failures:
        print(f"{server}: failures: {'; '.join(failures)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for one server or both."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("granian", "waitress", "both"), default="both")
    parser.add_argument("--slow", type=int, default=5000)
    parser.add_argument("--honest", type=int, default=5)
    parser.add_argument("--trickle-s", type=float, default=1.0)
    parser.add_argument("--deadline-s", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=0, help="port to serve on (0: any free)")
    parser.add_argument("serve_flags", nargs="*", help="extra flags for apixo-mock serve")
    args = parser.parse_args(argv)
    for server in ("granian", "waitress") if args.server == "both" else (args.server,):
        run_one(server, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
