"""bench/callbacks_redis.py and its minimal receiver keep working (figures printed, never asserted).

The benchmark is what issue 13's callback target is measured with: it must
still check that every callback was delivered once (attempt log and receiver),
and its receiver must stay a real HTTP/1.1 server.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"
DOC = Path(__file__).parents[2] / "docs" / "callbacks.md"
WAIT_S = 10.0


def doc_commands() -> list[str]:
    """The benchmark's command lines in docs/callbacks.md, whitespace made single."""
    found = re.findall(r"`(\.venv/bin/python bench/callbacks_redis\.py[^`]*)`", DOC.read_text())
    return [" ".join(command.split()) for command in found]


def test_the_documented_benchmark_command_delivers_each_once_and_splits_the_cpu() -> None:
    commands = doc_commands()
    assert ".venv/bin/python bench/callbacks_redis.py --tasks 10000 --processes 2" in commands
    args = ["--tasks", "300", "--processes", "2"]  # the documented run, smaller
    result = subprocess.run(
        [sys.executable, str(BENCH / "callbacks_redis.py"), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "300 callbacks due at once, 2 processes on Redis" in result.stdout
    assert "all delivered once" in result.stdout
    assert "CPU us per callback: workers" in result.stdout
    assert ", redis " in result.stdout
    assert ", receiver " in result.stdout


@pytest.fixture(scope="module")
def minimal() -> Iterator[tuple[str, int]]:
    sys.path.insert(0, str(BENCH))
    try:
        from callback_receiver import ReceiverProcess
    finally:
        sys.path.remove(str(BENCH))
    with ReceiverProcess(kind="minimal") as receiver:
        yield "127.0.0.1", receiver.port


def exchange(address: tuple[str, int], request: bytes) -> bytes:
    """Send `request`, read until the receiver hangs up."""
    with socket.create_connection(address, timeout=WAIT_S) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def count(address: tuple[str, int]) -> int:
    answer = exchange(address, b"GET /count HTTP/1.1\r\nConnection: close\r\n\r\n")
    return int(answer.rpartition(b"\r\n\r\n")[2])


def test_the_minimal_receiver_answers_pipelined_posts_in_order_and_counts_them(
    minimal: tuple[str, int],
) -> None:
    before = count(minimal)
    post = b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    last = b"POST /hook HTTP/1.1\r\ncontent-length: 3\r\nConnection: close\r\n\r\n{ }"
    answer = exchange(minimal, post * 3 + last)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 4
    assert answer.count(b"Connection: close") == 1  # the last one, then it hung up
    assert count(minimal) == before + 4


def test_the_minimal_receiver_waits_for_the_whole_body(minimal: tuple[str, int]) -> None:
    before = count(minimal)
    with socket.create_connection(minimal, timeout=WAIT_S) as sock:
        sock.sendall(b"POST /a HTTP/1.0\r\nContent-Length: 4\r\n\r\n{")
        sock.sendall(b"}{}")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close" in answer  # HTTP/1.0: no keep-alive
    assert count(minimal) == before + 1


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"POST /a HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"NONSENSE\r\n\r\n",
    ],
    ids=["chunked", "bad-length", "bad-request-line"],
)
def test_the_minimal_receiver_refuses_what_it_does_not_read(
    minimal: tuple[str, int], request_bytes: bytes
) -> None:
    before = count(minimal)
    answer = exchange(minimal, request_bytes)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert count(minimal) == before
