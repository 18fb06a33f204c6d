"""waitress's own refusals, made before the app sees a request, are envelopes too."""

from __future__ import annotations

import json
import socket

from mock_server.server import MockServer

CAP = 4096


def exchange(server: MockServer, head: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send `head` (and no body) and read the whole answer; waitress closes after it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head_part, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head_part.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


def test_a_declared_length_over_the_cap_is_a_413_envelope_before_the_body() -> None:
    # Before, waitress waited for all 10 MiB (its own cap is 1 GiB) before the app
    # could refuse them; the socket timeout above fails the test then.
    with MockServer(max_body_bytes=CAP) as server:
        status, headers, body = exchange(
            server,
            b"POST /api/v1/generateTask/gpt-image-1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer k\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10485760\r\n\r\n",
        )
    assert status.startswith("HTTP/1.1 413")
    assert headers["content-type"] == "application/json"
    message = f"Request body too large: at most {CAP} bytes"
    assert json.loads(body) == {"code": 413, "message": message, "data": None}


def test_a_malformed_request_line_is_a_400_envelope() -> None:
    with MockServer() as server:
        status, headers, body = exchange(server, b"GARBAGE\r\n\r\n")
    assert status.split()[1] == "400"
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == 400
