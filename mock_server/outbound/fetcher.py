"""Reference image downloads for fetch mode: a total deadline, a size cap, redirects.

Not hot, so it uses http.client; it connects through `reach.open_socket`, so
the image host rules (settings `image_allow_hosts`, `image_deny_hosts`) apply
to the first URL and to every redirect.
"""

from __future__ import annotations

import functools
import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urljoin

from mock_server.core.host_rules import HostRules

from .reach import OPEN, Target, describe_error, open_socket

_REDIRECTS: Final = (301, 302, 303, 307, 308)
_CHUNK: Final = 64 * 1024


FetchKind = Literal["ok", "unreachable", "timeout", "too_large"]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What downloading a reference image came to.

    `unreachable`: DNS failure, refused connection, non-2xx or too many redirects;
    `timeout`: connect or read timeout, or the connection broke off mid-body;
    `too_large`: more than `max_bytes` (by Content-Length or by counting).
    `head` holds the first 32 bytes (for the magic-byte check), `size` the bytes seen.
    """

    kind: FetchKind
    status: int | None
    head: bytes
    size: int
    error: str | None


class ImageFetcher:
    """Downloads reference images with a total deadline, a size cap and up to 5 redirects."""

    max_redirects: Final = 5

    def __init__(self, *, user_agent: str = "apixo-mock", rules: HostRules = OPEN) -> None:
        self._user_agent = user_agent
        self._rules = rules

    @functools.cached_property
    def _context(self) -> ssl.SSLContext:
        # Built on first https use (see HttpCallbackSender._context).
        return ssl.create_default_context()

    def fetch(self, url: str, *, timeout_s: float, max_bytes: int) -> FetchResult:
        """GET `url`, following redirects, reading no more than `max_bytes` + 1 bytes."""
        deadline = time.monotonic() + timeout_s
        for _ in range(self.max_redirects + 1):
            outcome = self._get_once(url, deadline, timeout_s, max_bytes)
            if isinstance(outcome, FetchResult):
                return outcome
            url = outcome
        return FetchResult("unreachable", None, b"", 0, f"more than {self.max_redirects} redirects")

    def _get_once(
        self, url: str, deadline: float, timeout_s: float, max_bytes: int
    ) -> FetchResult | str:
        """One GET: a result, or the URL a redirect points to."""
        try:
            target = Target.parse(url)
        except ValueError as exc:
            return FetchResult("unreachable", None, b"", 0, str(exc))
        connection = _connection(target, max(0.001, deadline - time.monotonic()))
        try:
            headers = {"User-Agent": self._user_agent, "Accept": "image/*"}
            try:
                # Connected here, not by http.client: to the address the rules checked,
                # again after every redirect.
                connection.sock = self._open(target, max(0.001, deadline - time.monotonic()))
                connection.request("GET", target.path, headers=headers)
                response = connection.getresponse()
            except Exception as exc:
                return _failed_before_response(exc, timeout_s)
            return self._read(url, response, connection, deadline, timeout_s, max_bytes)
        finally:
            connection.close()

    def _open(self, target: Target, timeout_s: float) -> socket.socket:
        sock = open_socket(target, timeout_s, self._rules)
        if target.scheme != "https":
            return sock
        try:
            return self._context.wrap_socket(sock, server_hostname=target.host)
        except BaseException:
            sock.close()
            raise

    def _read(
        self,
        url: str,
        response: http.client.HTTPResponse,
        connection: http.client.HTTPConnection,
        deadline: float,
        timeout_s: float,
        max_bytes: int,
    ) -> FetchResult | str:
        status = response.status
        location = response.getheader("Location")
        if status in _REDIRECTS and location:
            return urljoin(url, location)
        if not 200 <= status < 300:
            return FetchResult("unreachable", status, b"", 0, f"HTTP {status}")
        length = response.getheader("Content-Length", "")
        if length.isdigit() and int(length) > max_bytes:
            return FetchResult("too_large", status, b"", int(length), "Content-Length too large")
        return _read_body(response, connection, deadline, timeout_s, max_bytes)


def _connection(target: Target, timeout_s: float) -> http.client.HTTPConnection:
    kind = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    return kind(target.host, target.port, timeout=timeout_s)


def _failed_before_response(exc: Exception, timeout_s: float) -> FetchResult:
    """Connect, send or status line failed: a timeout or break-off, else unreachable."""
    broke_off = (TimeoutError, ConnectionResetError, http.client.RemoteDisconnected)
    kind: FetchKind = "timeout" if isinstance(exc, broke_off) else "unreachable"
    return FetchResult(kind, None, b"", 0, describe_error(exc, timeout_s))


def _read_body(
    response: http.client.HTTPResponse,
    connection: http.client.HTTPConnection,
    deadline: float,
    timeout_s: float,
    max_bytes: int,
) -> FetchResult:
    """Read until the end, the deadline or past `max_bytes`, keeping the first 32 bytes."""
    head, size, status = b"", 0, response.status
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if connection.sock is not None:
                connection.sock.settimeout(remaining)  # the deadline covers the whole body
            chunk = response.read1(min(_CHUNK, max_bytes + 1 - size))  # what has arrived
            if not chunk and response.length:  # read(amt) ends early rather than raising
                return FetchResult("timeout", status, head, size, f"broke off after {size} bytes")
            if not chunk:
                return FetchResult("ok", status, head, size, None)
            head = head if len(head) >= 32 else (head + chunk)[:32]
            size += len(chunk)
            if size > max_bytes:
                return FetchResult("too_large", status, head, size, f"more than {max_bytes} bytes")
    except (OSError, http.client.HTTPException) as exc:
        return FetchResult("timeout", status, head, size, describe_error(exc, timeout_s))
