"""The real callback sender that the core is given (the image fetcher is fetcher.py beside it).

The callback sender's design is a measured choice. POSTing a 90-byte callback
to one loopback granian receiver from 8 threads on this 2-core machine
(bench/callbacks.py, "raw sender"; ranges over several runs, some of them
while other test suites shared the CPU):

    urllib3 PoolManager, keep-alive ..........................  2,600-4,800 POST/s  160-370 us CPU
    http.client HTTPConnection, one per thread, keep-alive ...  3,900-9,200 POST/s   68-160 us CPU
    one sendall + http.client.HTTPResponse to parse ..........  5,100-14,400 POST/s  50-110 us CPU
    one sendall + read_answer() below (what this module does)  14,400-19,900 POST/s  19-50 us CPU

Through the dispatcher, only the last one delivers 10,000 callbacks due
within one second with a p99 lateness under 250 ms (docs/callbacks.md).
The dispatcher now goes one step further: one thread keeps several POSTs in
flight on as many connections and waits on them all at once (`post_all`),
and settles the answers of one wait together: two processes delivering over
Redis spend a quarter less CPU per callback that way than with as many
threads blocked in one connection each (docs/callbacks.md, "Several
processes on Redis"; with one process and no Redis, about the same).
HTTPConnection sends head and body in two writes and validates each header;
HTTPResponse parses every header through the email package; urllib3 adds pool
and retry bookkeeping. A callback needs none of that: the request is a fixed
request line and a few headers we write ourselves, and of the answer only the
status matters, so `read_answer` reads the status line and the three headers
that decide whether the connection may be reused, and hangs up whenever that
is not plainly safe.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import re
import selectors
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from mock_server.core.callbacks import Request, SendResult
from mock_server.core.host_rules import HostRules

from .reach import OPEN, Target, describe_error, open_socket

__all__ = ("HttpCallbackSender", "read_answer")

_STALE_ERRORS: Final = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
_DRAIN_BYTES: Final = 64 * 1024  # a longer answer body is not read: the connection is dropped
_HEAD_LIMIT: Final = 64 * 1024
_STATUS: Final = re.compile(rb"[1-5][0-9][0-9]")
_MAX_INTERIM: Final = 8  # 1xx answers skipped before the real one
_MAX_CONNECTIONS_PER_THREAD: Final = 64  # kept alive; past it the oldest is closed
_CHUNK: Final = 64 * 1024
_OWN_HEADERS: Final = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_MAX_TARGETS: Final = 1024  # parsed callback URLs kept; a full cache starts afresh
_MAX_HEADS: Final = 256  # answer heads and request heads kept, alike
# Linux only; elsewhere None, and delayed ACKs stay as the OS makes them (see _recv).
_QUICKACK: Final[int | None] = getattr(socket, "TCP_QUICKACK", None)


def _request_bytes(target: Target, body: bytes, headers: Mapping[str, str]) -> bytes:
    """The whole POST, head and body, ready for one `sendall`."""
    return _request_head(target, headers) + b"%d\r\n\r\n" % len(body) + body


def _request_head(target: Target, headers: Mapping[str, str]) -> bytes:
    """The request's head up to the value of its Content-Length, which ends it."""
    lines = [f"POST {target.path} HTTP/1.1", f"Host: {target.authority}"]
    for name, value in headers.items():
        if "\r" in name + value or "\n" in name + value:
            raise ValueError(f"header {name!r}: line breaks are not allowed")
        if name.lower() not in _OWN_HEADERS:
            lines.append(f"{name}: {value}")
    lines.append("Content-Length: ")
    return "\r\n".join(lines).encode("latin-1")


def read_answer(
    sock: socket.socket, known: dict[bytes, tuple[int, int | None, bool]] | None = None
) -> tuple[int, bool]:
    """Read an HTTP/1.x answer's status; also whether the connection can carry another request.

    Only the status matters to a callback, so the body is read only to keep a
    connection alive, and only when that is plainly safe: HTTP/1.1, a
    Content-Length of at most 64 KiB, no Transfer-Encoding, no `Connection:
    close`. In every other case the connection is dropped unread. Interim 1xx
    answers are skipped. `known`: heads parsed before, kept by the caller (a
    receiver answers every callback with the same head, but for its Date).
    """
    rest = b""
    for interim in range(_MAX_INTERIM):
        head, rest = _read_head(sock, rest, first=not interim)
        parsed = None if known is None else known.get(head)
        if parsed is None:
            parsed = _parse_head(head)
            if known is not None:
                if len(known) >= _MAX_HEADS:
                    known.clear()  # bounded, not evicted one by one
                known[head] = parsed
        status, length, reusable = parsed
        if status >= 200:
            return status, reusable and _drain(sock, rest, length)
    raise http.client.HTTPException(f"more than {_MAX_INTERIM} interim answers")


def _read_head(sock: socket.socket, buffer: bytes, *, first: bool) -> tuple[bytes, bytes]:
    """The status line and headers, and whatever arrived after them.

    `first`: nothing of the answer was read yet (after an interim answer,
    something was: the final one may wait for its ACK, see `_recv`).
    """
    end = _head_end(buffer) if buffer else None
    while end is None:
        if len(buffer) > _HEAD_LIMIT:
            raise http.client.LineTooLong(f"answer head over {_HEAD_LIMIT} bytes")
        chunk = _recv(sock, _CHUNK, more=bool(buffer) or not first)
        if not chunk and not buffer:
            raise http.client.RemoteDisconnected("connection closed without a response")
        if not chunk:
            raise http.client.IncompleteRead(buffer)
        buffer += chunk
        end = _head_end(buffer)
    return buffer[: end[0]], buffer[end[1] :]


def _head_end(buffer: bytes) -> tuple[int, int] | None:
    """Where the first empty line (CRLF or bare LF) starts and ends: the first match of
    `\\r?\\n\\r?\\n`, found with two byte searches (a regex tries each position: slower)."""
    bare, crlf = buffer.find(b"\n\n"), buffer.find(b"\n\r\n")
    if bare < 0 and crlf < 0:
        return None
    newline, stop = (bare, bare + 2) if crlf < 0 or 0 <= bare < crlf else (crlf, crlf + 3)
    start = newline - 1 if newline and buffer[newline - 1] == 13 else newline  # 13: CR
    return start, stop


def _parse_head(head: bytes) -> tuple[int, int | None, bool]:
    """(status, Content-Length or None, keep-alive allowed) from an answer's head."""
    lines = head.split(b"\n")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not _STATUS.fullmatch(parts[1]):
        raise http.client.BadStatusLine(lines[0].decode("latin-1"))
    status, length, reusable = int(parts[1]), None, parts[0] == b"HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()  # the value only of the headers that matter
        if name == b"content-length":
            value = value.strip()
            length = int(value) if value.isdigit() else None
            reusable = reusable and value.isdigit()
        elif name == b"transfer-encoding" or (name == b"connection" and b"close" in value.lower()):
            reusable = False
    if status < 200 or status in (204, 304):
        length = 0  # no body, whatever the headers say
    return status, length, reusable and length is not None


def _recv(sock: socket.socket, size: int, *, more: bool = True) -> bytes:
    """`sock.recv`; with `more` (part of the answer is in), acknowledging what arrived at once.

    A receiver that writes its head and its body in two sends (Python's
    http.server does) has Nagle's algorithm hold the body back until the head
    is acknowledged, and Linux delays that ACK: 40 ms per callback, 88
    callbacks/s over 4 connections. So once an answer has come in part,
    TCP_QUICKACK is set before each further read: setting it sends the ACK
    that is pending at once, and it is not sticky. The first read of an answer
    goes without: an answer that comes whole needs no early ACK, and most do.
    TCP_NODELAY on our side cannot help, the wait is theirs. A socket whose
    kernel timeout ran out (see `_set_timeout`) raises TimeoutError, as one
    with a Python timeout does.
    """
    if more and _QUICKACK is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
    try:
        return sock.recv(size)
    except BlockingIOError:
        raise TimeoutError("timed out") from None


def _drain(sock: socket.socket, rest: bytes, length: int | None) -> bool:
    """Read the rest of a body of `length` bytes; False if the connection is not reusable."""
    if length is None or length > _DRAIN_BYTES or len(rest) > length:
        return False  # too much to read, or bytes that belong to no answer of ours
    missing = length - len(rest)
    while missing > 0:
        chunk = _recv(sock, min(missing, _CHUNK))
        if not chunk:
            return False
        missing -= len(chunk)
    return True


class HttpCallbackSender:
    """POSTs callbacks; one keep-alive connection per sender thread and origin.

    Never raises: every failure becomes `SendResult(status=None, error=...)`.
    Redirects are not followed (a 3xx is a failed delivery, as any non-2xx).
    Connections go only where `rules` allow (see reach.py; a refusal is the
    error `blocked: ...`). `timeout_s` bounds the connect and each read.
    `abort()` breaks off requests in flight, so a dispatcher can stop promptly
    even while a receiver hangs.
    """

    def __init__(self, *, rules: HostRules = OPEN) -> None:
        self._rules = rules
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._aborted = False
        self._targets: dict[str, Target] = {}  # parsed URLs: a receiver's URL recurs
        # Request heads by URL and headers, and answer heads parsed: both recur.
        self._requests: dict[tuple[object, ...], bytes] = {}
        self._answers: dict[bytes, tuple[int, int | None, bool]] = {}

    @functools.cached_property
    def _context(self) -> ssl.SSLContext:
        # Built on first https use: it costs ~35 ms, most of a test mock's start-up.
        return ssl.create_default_context()

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        """POST `body` to `url`; the receiver has `timeout_s` per connect and per read."""
        started = time.perf_counter()
        try:
            target = self._target(url)
            status = self._post(target, self._request(url, target, body, headers), timeout_s)
        except Exception as exc:
            return self._failure(exc, timeout_s, started)
        return SendResult(status, None, (time.perf_counter() - started) * 1000)

    def abort(self) -> None:
        """Fail every request in flight now, and every later one; closes every connection."""
        with self._lock:
            self._aborted = True
            sockets, self._open = self._open, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv
            sock.close()

    def _target(self, url: str) -> Target:
        """`Target.parse(url)`, remembered (one dict per sender, shared by its threads)."""
        target = self._targets.get(url)
        if target is None:
            target = Target.parse(url)
            if len(self._targets) >= _MAX_TARGETS:
                self._targets.clear()  # many one-off URLs: bounded, not evicted one by one
            self._targets[url] = target
        return target

    def _request(self, url: str, target: Target, body: bytes, headers: Mapping[str, str]) -> bytes:
        """`_request_bytes`, its head remembered (a signed callback's headers never recur:
        its heads fill the memory, which then starts afresh)."""
        key = (url, *headers.items())
        head = self._requests.get(key)
        if head is None:
            head = _request_head(target, headers)
            if len(self._requests) >= _MAX_HEADS:
                self._requests.clear()
            self._requests[key] = head
        return head + b"%d\r\n\r\n" % len(body) + body

    def _post(self, target: Target, request: bytes, timeout_s: float, slot: int = 0) -> int:
        sock, reused = self._socket(target, timeout_s, slot)
        try:
            return self._exchange(sock, target, request, slot)
        except _STALE_ERRORS:
            if not reused:
                raise
        # A kept-alive connection the receiver had already closed: retry once, fresh.
        sock, _ = self._socket(target, timeout_s, slot)
        return self._exchange(sock, target, request, slot)

    def _exchange(self, sock: socket.socket, target: Target, request: bytes, slot: int = 0) -> int:
        """Send the request and read the answer; drops the connection unless it stays usable."""
        try:
            _send(sock, request)
            return self._answer(sock, target, slot)
        except BaseException:
            self._discard(target, slot)
            raise

    def _answer(self, sock: socket.socket, target: Target, slot: int) -> int:
        """Read the answer to what `sock` was sent; drops the connection unless it stays usable
        (the caller drops it on an error)."""
        status, reusable = read_answer(sock, self._answers)
        if not reusable:
            self._discard(target, slot)
        return status

    # -- several at once ---------------------------------------------------------

    def post_all(
        self,
        requests: Sequence[Callable[[], Request]],
        timeout_s: float,
        done: Callable[[int, SendResult], None],
        width: int,
        flush: Callable[[], None] = lambda: None,
    ) -> None:
        """POST every request, up to `width` at once, each on a connection of its own.

        Each request is made (`requests[index]()`) just before it is sent, so
        that what it carries (a signature's timestamp) is as fresh as with
        `post`; one that raises is a failed request. `done(index, result)` is
        called as each request ends, on this thread, and `flush()` after the
        results that one wait on the connections brought, before any further
        request is sent: a caller that records each result in `done` (or the
        results of a round in `flush`) has it recorded before the next POST on
        that connection, as it would with `post`. One thread waits on all the
        connections at once: on a busy machine, fewer wake-ups and hand-overs
        of the GIL than as many threads blocked in one each (docs/callbacks.md).
        Plain HTTP only: an https request is sent on its own, as `post` sends
        it, and flushed. Never raises but what `done` or `flush` raises.
        """
        pending = deque(range(len(requests)))
        if width < 2 or len(requests) < 2:
            for index in pending:
                started = time.perf_counter()
                try:
                    request = requests[index]()
                except Exception as exc:
                    done(index, self._failure(exc, timeout_s, started))
                else:
                    done(index, self.post(*request, timeout_s))
                flush()
            return
        free = list(range(width - 1, -1, -1))  # connection slots, the lowest used first
        with _Selector() as selector, self._unanswered_dropped(selector):
            while pending or selector.get_map():
                while pending and free:
                    index = pending.popleft()
                    flight = self._start(requests[index], index, free[-1], timeout_s)
                    if isinstance(flight, SendResult):
                        done(index, flight)  # failed before it was sent, or sent alone
                        flush()  # an https one was sent: recorded before the next goes
                    else:
                        selector.register(flight.sock, selectors.EVENT_READ, flight)
                        free.pop()
                flights = [key.data for key in selector.get_map().values()]
                if not flights:
                    continue
                wait = min(flight.deadline for flight in flights) - time.perf_counter()
                try:
                    readable = {id(key.data) for key, _ in selector.select(max(0.0, wait))}
                except OSError:  # a connection closed under it (abort): each read will say
                    readable = {id(flight) for flight in flights}
                now = time.perf_counter()
                for flight in flights:
                    answered = id(flight) in readable
                    if answered or flight.deadline <= now:
                        selector.unregister(flight.sock)
                        free.append(flight.slot)
                        done(flight.index, self._finish(flight, timeout_s, answered=answered))
                flush()

    @contextlib.contextmanager
    def _unanswered_dropped(self, selector: selectors.BaseSelector) -> Iterator[None]:
        """On the way out (an exception in `done`), drop the connections still awaiting an
        answer: kept, one would hand that answer to its next request."""
        try:
            yield
        finally:
            for key in list(selector.get_map().values()):
                self._discard(key.data.target, key.data.slot)

    def _start(
        self, make: Callable[[], Request], index: int, slot: int, timeout_s: float
    ) -> _Flight | SendResult:
        """Make and send one request on connection `slot`: what is in flight, or the result
        already."""
        started = time.perf_counter()
        try:
            url, body, headers = make()
            target = self._target(url)
            if target.scheme != "http":
                return self.post(url, body, headers, timeout_s)
            data = self._request(url, target, body, headers)
        except Exception as exc:  # nothing was sent: the connection, if kept, stays
            return self._failure(exc, timeout_s, started)
        try:
            sock, reused = self._socket(target, timeout_s, slot)
            try:
                _send(sock, data)
            except _STALE_ERRORS:
                if not reused:
                    raise
                # A kept-alive connection the receiver had already closed: once more, fresh.
                self._discard(target, slot)
                sock, reused = self._socket(target, timeout_s, slot)
                _send(sock, data)
        except Exception as exc:
            self._discard(target, slot)
            return self._failure(exc, timeout_s, started)
        return _Flight(index, slot, target, data, sock, reused, started, started + timeout_s)

    def _finish(self, flight: _Flight, timeout_s: float, *, answered: bool) -> SendResult:
        """The result of a request in flight: its connection became readable (`answered`),
        or its time ran out."""
        try:
            if not answered:
                raise TimeoutError("timed out")
            try:
                status = self._answer(flight.sock, flight.target, flight.slot)
            except _STALE_ERRORS:
                if not flight.reused:
                    raise
                # Closed by the receiver before our request reached it: once more, fresh.
                self._discard(flight.target, flight.slot)
                status = self._post(flight.target, flight.data, timeout_s, flight.slot)
        except Exception as exc:
            self._discard(flight.target, flight.slot)
            return self._failure(exc, timeout_s, flight.started)
        return SendResult(status, None, (time.perf_counter() - flight.started) * 1000)

    def _failure(self, exc: BaseException, timeout_s: float, started: float) -> SendResult:
        error = "sender closed" if self._aborted else describe_error(exc, timeout_s)
        return SendResult(None, error, (time.perf_counter() - started) * 1000)

    def _socket(
        self, target: Target, timeout_s: float, slot: int = 0
    ) -> tuple[socket.socket, bool]:
        """This thread's connection number `slot` to the target's origin, and whether it was
        used before."""
        if self._aborted:
            raise ConnectionAbortedError("sender closed")
        pool = self._pool()
        key = _pool_key(target, slot)
        kept = pool.get(key)
        if kept is not None:
            sock, timeout = kept
            if timeout != timeout_s:
                _set_timeout(sock, timeout_s)
                pool[key] = sock, timeout_s
            return sock, True
        if len(pool) >= _MAX_CONNECTIONS_PER_THREAD:
            self._discard_key(next(iter(pool)))
        sock = open_socket(target, timeout_s, self._rules)
        if target.scheme == "https":
            try:
                sock = self._context.wrap_socket(sock, server_hostname=target.host)
            except BaseException:
                sock.close()
                raise
        _set_timeout(sock, timeout_s)
        pool[key] = sock, timeout_s
        with self._lock:
            self._open.add(sock)
        return sock, False

    def _pool(self) -> dict[tuple[object, ...], tuple[socket.socket, float]]:
        pool: dict[tuple[object, ...], tuple[socket.socket, float]] | None
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    def _discard(self, target: Target, slot: int = 0) -> None:
        self._discard_key(_pool_key(target, slot))

    def _discard_key(self, key: tuple[object, ...]) -> None:
        kept = self._pool().pop(key, None)
        if kept is not None:
            with self._lock:
                self._open.discard(kept[0])
            kept[0].close()


# poll, not epoll: abort() shuts connections down and closes them, and epoll drops a
# closed socket without a word (its wait would last the whole timeout), where poll
# reports it at once.
_Selector: Final = getattr(selectors, "PollSelector", selectors.SelectSelector)


@dataclass(slots=True)
class _Flight:
    """A request of `post_all` sent on its connection and not yet answered."""

    index: int
    slot: int
    target: Target
    data: bytes
    sock: socket.socket
    reused: bool
    started: float
    deadline: float


def _pool_key(target: Target, slot: int) -> tuple[object, ...]:
    """A kept connection's key: the origin's, and the slot when more than one is kept."""
    return target.key if not slot else (*target.key, slot)


def _send(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except BlockingIOError:
        raise TimeoutError("timed out") from None  # the kernel timeout (_set_timeout)


def _set_timeout(sock: socket.socket, timeout_s: float) -> None:
    """Bound each send and read on `sock` by `timeout_s`, in the kernel where it can be.

    A socket with a Python timeout has CPython poll before every send and every
    read: a second system call, and a second hand-off of the GIL between the
    sender threads, per call. A blocking socket with SO_SNDTIMEO/SO_RCVTIMEO
    makes one call that fails with EAGAIN (BlockingIOError, turned into
    TimeoutError here) once the time is up. TLS sockets, and systems without
    the options, keep the Python timeout.
    """
    if not isinstance(sock, ssl.SSLSocket) and timeout_s > 0:
        # A struct timeval; zero would mean no timeout at all, hence at least 1 us.
        interval = struct.pack("@ll", *divmod(max(1, round(timeout_s * 1e6)), 1_000_000))
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, interval)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, interval)
        except OSError:
            pass  # no kernel timeouts here: the Python one below
        else:
            sock.settimeout(None)
            return
    sock.settimeout(timeout_s)
