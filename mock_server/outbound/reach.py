"""Where an outbound URL points, and connecting to it only where the host rules allow.

Both outbound adapters (the callback sender and the image fetcher) connect
through `open_socket`: it resolves the host, asks the rules about every
address it got, and connects to the first allowed one itself, so the address
checked is the address connected to (a second DNS answer, as in DNS
rebinding, never gets a say). With `local` denied it also refuses, before a
byte is sent, a connection that turns out to end on this machine (its two ends
have the same address), whatever address it was made to.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from mock_server.core.host_rules import HostRules

_TOKEN: Final = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces or line breaks
OPEN: Final = HostRules()  # rules that allow everything


class BlockedError(ConnectionError):
    """The host rules refuse every address the host resolved to."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL points: the connection key, the Host header and the request path."""

    scheme: str
    host: str
    port: int
    authority: str
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        """The target of an absolute http(s) URL; ValueError otherwise (without the URL,
        whose query string may be secret: the message ends up in logs)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an absolute http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        authority = parts.netloc.rpartition("@")[2]
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not (_TOKEN.fullmatch(path) and _TOKEN.fullmatch(authority)):
            raise ValueError("URL has spaces, controls or non-ASCII characters")
        return cls(parts.scheme, parts.hostname, port, authority, path)

    @property
    def key(self) -> tuple[str, str, int]:
        """What a kept-alive connection is pooled under."""
        return self.scheme, self.host, self.port


def open_socket(target: Target, timeout_s: float, rules: HostRules) -> socket.socket:
    """A TCP connection to an address of `target.host` that `rules` allow.

    Raises `BlockedError` when the rules refuse every address, else the last
    connect error (or the lookup's `socket.gaierror`), as `create_connection` does.
    """
    infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    refusal, error = None, None
    for family, kind, proto, _, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        problem = rules.refuse_address(target.host, address)
        if problem is not None:
            refusal = problem
            continue
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout_s)
            sock.connect(sockaddr)
            if rules.deny_local and _ends_here(sock):
                raise BlockedError(f"host {target.host} ({address}) is this machine")
        except BaseException as exc:
            sock.close()
            if isinstance(exc, BlockedError) or not isinstance(exc, OSError):
                raise
            error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    if error is not None:
        raise error
    raise BlockedError(refusal or f"host {target.host} has no address")


def _ends_here(sock: socket.socket) -> bool:
    """Whether a connected socket's peer is this machine: loopback, or our own address."""
    peer = ipaddress.ip_address(str(sock.getpeername()[0]).partition("%")[0])
    ours = ipaddress.ip_address(str(sock.getsockname()[0]).partition("%")[0])
    return peer.is_loopback or peer == ours


def describe_error(exc: BaseException, timeout_s: float) -> str:
    """A short, stable text for a failed request, as the attempt log shows it."""
    if isinstance(exc, BlockedError):
        return f"blocked: {exc}"
    if isinstance(exc, socket.gaierror):
        return f"DNS failure: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        return f"timeout after {timeout_s:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed without a response"
    if isinstance(exc, http.client.HTTPException):
        return f"bad response: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"
