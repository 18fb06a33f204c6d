"""CallbackReceiver: a loopback HTTP server that records the callbacks it receives.

For tests, the pytest plugin and the contract suite: bind port 0, point a
task's callback_url at `receiver.url + "/anything"`, then `wait_for(n, timeout)`.
Its answers can be programmed (`respond_with`) to rehearse a receiver that
fails with 500 or hangs past the sender's timeout.

    >>> with CallbackReceiver() as receiver:
    ...     receiver.respond_with(status=500, times=1)  # the first callback fails
    ...     url = receiver.url + "/hook"
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Final, cast

_POLL_S: Final = 0.05  # how soon serve_forever notices shutdown()
_READY_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class ReceivedCallback:
    """One request the receiver recorded, in arrival order."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float  # wall-clock Unix seconds

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name, or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    delay_s: float
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the mock's sender uses it
    wbufsize = -1  # buffer the answer: head and body leave in one write, flushed per request

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle's algorithm holds a kept-alive answer back until the
        # client's delayed ACK: 40 ms per callback.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        body = self._read_body()
        receiver = cast(_Server, self.server).receiver
        reply = receiver._record(ReceivedCallback(
            self.command, self.path, dict(self.headers.items()), body, time.time()
        ))  # fmt: skip
        if reply.delay_s and receiver._closing.wait(reply.delay_s):
            self.close_connection = True  # closing: hang up without an answer
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_PUT = do_POST

    def _read_body(self) -> bytes:
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read `deliveries()`, not stderr."""


class _Server(HTTPServer):
    """HTTPServer with one daemon thread per connection, each tracked so close() can end it."""

    def __init__(self, address: tuple[str, int], receiver: CallbackReceiver) -> None:
        super().__init__(address, _Handler)
        self.receiver = receiver
        self._lock = threading.Lock()
        self._connections: dict[threading.Thread, socket.socket] = {}

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (getfqdn), which can stall."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection, args=(request, client_address), daemon=True
        )
        with self._lock:
            self._connections[thread] = request
        thread.start()

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except OSError:
            pass  # the client or close() hung up
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._connections.pop(threading.current_thread(), None)

    def end_connections(self, timeout_s: float) -> None:
        """Hang up every open connection and join its thread."""
        with self._lock:
            open_now = dict(self._connections)
        for request in open_now.values():
            with contextlib.suppress(OSError):
                request.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked reading
        for thread in open_now:
            thread.join(timeout_s)


class CallbackReceiver:
    """Records every POST on a loopback port; answers as programmed (200 by default)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._cond = threading.Condition()
        self._received: list[ReceivedCallback] = []
        self._queued: deque[tuple[_Reply, int]] = deque()  # (reply, times left)
        self._sticky = _Reply(200, 0.0, b"{}")
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind, serve in a daemon thread, and return once it is serving."""
        if self._server is not None:
            raise RuntimeError("the receiver is already running")
        self._closing.clear()
        self._server = _Server(self._address, self)
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(self._server, ready), name="callback-receiver", daemon=True
        )
        self._thread.start()
        if not ready.wait(_READY_S):
            raise RuntimeError("the callback receiver did not start")

    def close(self) -> None:
        """Stop serving, release hanging replies, join every thread; idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._closing.set()
        server.shutdown()
        server.end_connections(_READY_S)
        server.server_close()
        thread.join(_READY_S)
        self._server = self._thread = None

    def __enter__(self) -> CallbackReceiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def is_running(self) -> bool:
        """Whether the receiver is serving."""
        return self._server is not None

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:54321`; append any path."""
        if self._server is None:
            raise RuntimeError("the receiver is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def respond_with(
        self, status: int = 200, delay_s: float = 0.0, times: int | None = None, body: bytes = b"{}"
    ) -> None:
        """Answer the next `times` requests so (queued in order), or every later one if None.

        `delay_s` holds the answer back (a hang, when past the sender's timeout);
        close() ends such a wait at once.
        """
        reply = _Reply(status, delay_s, body)
        with self._cond:
            if times is None:
                self._sticky = reply
            elif times > 0:
                self._queued.append((reply, times))

    def deliveries(self) -> list[ReceivedCallback]:
        """Everything received so far, in arrival order."""
        with self._cond:
            return list(self._received)

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Wait until at least `count` requests arrived; False if `timeout_s` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._received) >= count, timeout_s)

    def clear(self) -> None:
        """Forget what was received and every programmed answer (back to 200)."""
        with self._cond:
            self._received.clear()
            self._queued.clear()
            self._sticky = _Reply(200, 0.0, b"{}")

    def _record(self, received: ReceivedCallback) -> _Reply:
        """Keep a request and choose its answer."""
        with self._cond:
            self._received.append(received)
            self._cond.notify_all()
            if not self._queued:
                return self._sticky
            reply, left = self._queued[0]
            if left > 1:
                self._queued[0] = (reply, left - 1)
            else:
                self._queued.popleft()
            return reply

    @staticmethod
    def _serve(server: _Server, ready: threading.Event) -> None:
        ready.set()  # the socket already listens (bound in the constructor)
        server.serve_forever(poll_interval=_POLL_S)
