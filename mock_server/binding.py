"""The address `serve` listens on, checked before anything is printed or started.

Every failure is a `ConfigError` naming where the setting came from and the
setting itself: a host that does not resolve or is not this machine's, a busy
or forbidden port. Also raises the open-file limit to fit `connection_limit`.
"""

from __future__ import annotations

import errno
import logging
import resource
import socket
from collections.abc import Callable

from .core.errors import ConfigError

log = logging.getLogger("apixo_mock")

Source = Callable[[str], str]
"""Where a setting came from, by name (see `settings.source_of`)."""

# Descriptors the process needs besides its connections: files, pipes, the
# callback senders' sockets.
_SPARE_FILES = 256


def resolve_host(host: str, source: Source) -> str:
    """The IP address `host` stands for (IPv4 first); granian binds addresses, not names."""
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(source("host"), "host", f"{host!r} does not resolve ({why})") from None
    found.sort(key=lambda item: item[0] != socket.AF_INET)
    return str(found[0][4][0])


def probe_port(address: str, port: int, host: str, source: Source) -> None:
    """`ConfigError` unless a listener could bind `address:port` now.

    granian binds with SO_REUSEPORT, so a second server on a busy port would
    start without complaint and share the connections with the first: this
    bind, without it, is what notices.
    """
    with _socket(address) as probe:
        # SO_REUSEADDR: a port with only TIME_WAIT leftovers is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _bind(probe, address, port, host, source)


def reserve_port(address: str, port: int, host: str, source: Source) -> socket.socket:
    """A bound, not listening, SO_REUSEPORT socket that holds the port for granian's worker.

    For port 0 it is how the port gets chosen (and can be printed); for any
    port it keeps others from taking it until the worker listens beside it.
    The caller closes it once serving is over.
    """
    holder = _socket(address)
    try:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        _bind(holder, address, port, host, source)
    except BaseException:
        holder.close()
        raise
    return holder


def url(host: str, port: int) -> str:
    """`http://host:port`, an IPv6 address in brackets."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def raise_file_limit(connection_limit: int) -> None:
    """Raise the soft open-file limit to fit `connection_limit` connections, or warn."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connection_limit + _SPARE_FILES
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning(
            "connection_limit %d needs %d open files; the limit is %d (raise it with ulimit -n)",
            connection_limit,
            wanted,
            target,
        )


def _socket(address: str) -> socket.socket:
    return socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)


def _bind(sock: socket.socket, address: str, port: int, host: str, source: Source) -> None:
    try:
        sock.bind((address, port))
    except OSError as exc:
        raise _bind_error(exc, host, port, source) from None


def _bind_error(exc: OSError, host: str, port: int, source: Source) -> ConfigError:
    if exc.errno == errno.EADDRNOTAVAIL:
        why = f"{host!r} is not an address of this machine ({exc.strerror})"
        return ConfigError(source("host"), "host", why)
    why = f"{host}:{port}: {exc.strerror}"
    if exc.errno == errno.EACCES:
        why += " (ports below 1024 need privileges)"
    return ConfigError(source("port"), "port", why)
