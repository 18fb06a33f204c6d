"""A throwaway redis-server for tests: Debian's real server on a free loopback port.

Tests of the shared (Redis) store never use a fake: they start the machine's
`redis-server` with persistence off, in a temporary folder, and stop it after.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_START_TRIES = 5  # a port the OS just freed can be taken again before the server binds it
_READY_TIMEOUT_S = 10.0


class RedisUnavailable(RuntimeError):
    """No redis-server on this machine (`make test` installs Debian's package)."""


@dataclass(frozen=True)
class RedisServer:
    """A running throwaway server: its port, URL and data folder."""

    port: int
    folder: Path
    unix_socket: bool = False

    @property
    def url(self) -> str:
        """The `redis://` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def unix_url(self) -> str:
        """The `unix://` URL of its socket file (started with `unix_socket=True`)."""
        if not self.unix_socket:
            raise RuntimeError("this server was started without a unix socket")
        return f"unix://{self.folder / 'redis.sock'}?db=0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_pid(port: int) -> int | None:
    """The process id of the redis-server answering on the port, if one answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"INFO server\r\n")
            reply = conn.makefile("rb")
            header = reply.readline()  # a bulk string: b"$<length>\r\n"
            if not header.startswith(b"$"):
                return None
            body = reply.read(int(header[1:]))
    except (OSError, ValueError):
        return None
    found = re.search(rb"^process_id:(\d+)\r?$", body, re.MULTILINE)
    return int(found.group(1)) if found else None


def _answers(port: int) -> bool:
    """Whether a redis-server (any) answers on the port."""
    return _server_pid(port) is not None


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> bool:
    """Whether our process answers on the port before the deadline.

    Our process, not just any: another process (a parallel test worker) may
    have been given the same free port and bound it first. Ours then exits,
    but until it does the other one answers a PING, and two sessions would
    share (and empty) one database.
    """
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if _server_pid(port) == process.pid:
            return True
        time.sleep(0.02)  # polling a child process's port; not a test's clock
    return False


@contextmanager
def redis_server(
    folder: Path, *, persistent: bool = False, unix_socket: bool = False
) -> Iterator[RedisServer]:
    """Run redis-server on a free loopback port until the block ends.

    `persistent=True` turns the append-only file on (fsync always), for
    tests that kill the mock and expect its state to survive. `unix_socket=True`
    also listens on `folder/redis.sock` (the path must stay under ~100 bytes).
    """
    executable = shutil.which("redis-server")
    if executable is None:
        raise RedisUnavailable("redis-server is not installed (Debian package redis-server)")
    folder.mkdir(parents=True, exist_ok=True)
    durability = ["--appendonly", "yes", "--appendfsync", "always"]
    if not persistent:
        durability = ["--appendonly", "no"]
    for _ in range(_START_TRIES):
        port = _free_port()
        command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
        command += ["--save", "", *durability, "--daemonize", "no", "--loglevel", "warning"]
        if unix_socket:
            command += ["--unixsocket", str(folder / "redis.sock"), "--unixsocketperm", "700"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if _wait_ready(process, port):
                yield RedisServer(port=port, folder=folder, unix_socket=unix_socket)
                return
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    raise RuntimeError(f"redis-server did not start after {_START_TRIES} tries")
