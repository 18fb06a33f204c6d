"""`apixo-mock serve` as a process: start-up checks, port 0, signals, JSON logs, slow clients."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

SERVERS = ("granian", "waitress")
BANNER = re.compile(r"serving on http://127\.0\.0\.1:(\d+)")
DEADLINE_S = 30.0


@dataclass
class Served:
    """A running `apixo-mock serve` and what it wrote to stderr so far."""

    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send `signum`; the exit code, once stderr is drained."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=DEADLINE_S)
        if self.reader is not None:
            self.reader.join(timeout=DEADLINE_S)
        return code


def serve_argv(server_name: str, *flags: str) -> list[str]:
    """`apixo-mock serve` on loopback, in this interpreter."""
    return [
        sys.executable, "-m", "mock_server", "serve", "--host", "127.0.0.1",
        "--server", server_name, "--profile", "instant", *flags,
    ]  # fmt: skip


@contextmanager
def served(server_name: str, *flags: str) -> Iterator[Served]:
    """The process in its own session, so that whatever it forked can be killed with it."""
    process = subprocess.Popen(
        serve_argv(server_name, "--port", "0", *flags),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # every line it writes, in order
        text=True,
        start_new_session=True,
    )
    try:
        yield _started(process)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its session: nothing left behind
        process.wait(timeout=DEADLINE_S)
        assert process.stdout is not None
        process.stdout.close()


def _started(process: subprocess.Popen[str]) -> Served:
    """Read the output up to the start-up line; a thread keeps reading the rest."""
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        match = BANNER.search(line)
        if match:
            served = Served(process, int(match.group(1)), lines)
            served.reader = threading.Thread(target=lines.extend, args=(process.stdout,))
            served.reader.start()
            return served
    raise AssertionError(f"serve exited with {process.wait()} before serving: {lines}")


def wait_healthy(base: str) -> None:
    """Until the health check answers, with a deadline."""
    waiter = threading.Event()
    for _ in range(600):
        try:
            if requests.get(f"{base}/__admin/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            waiter.wait(0.05)
    raise AssertionError("serve never became healthy")


def run_serve(server_name: str, *flags: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Exit code and all output of a serve expected to refuse to start."""
    result = subprocess.run(
        serve_argv(server_name, *flags),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


# -- every setting is checked before anything listens -------------------------


def bad_scenario(tmp_path: Path) -> str:
    path = tmp_path / "broken.yaml"
    path.write_text("rules:\n  - then: {fault: drop}\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("server_name", SERVERS)
@pytest.mark.parametrize(
    ("flags", "env", "expected"),
    [
        (["--port", "99999"], {}, "command line: port: must be at most 65535, got 99999"),
        ([], {"APIXO_MOCK_PORT": "70000"}, "APIXO_MOCK_PORT: port: must be at most 65535"),
        (["--host", "not-a-host.invalid"], {}, "command line: host: 'not-a-host.invalid' does"),
        (["--host", "192.0.2.1"], {}, "command line: host: '192.0.2.1' is not an address of"),
        (["--scenario", "no-such"], {}, "command line: scenario: no-such: no such scenario"),
        ([], {"APIXO_MOCK_SCENARIO": "no-such"}, "APIXO_MOCK_SCENARIO: scenario: no-such: "),
        (["--scenario", "BROKEN"], {}, "command line: scenario: BROKEN:1: "),
    ],
)
def test_a_bad_setting_is_one_line_naming_source_and_setting_then_exit_2(
    server_name: str, flags: list[str], env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    broken = bad_scenario(tmp_path)
    flags = [broken if flag == "BROKEN" else flag for flag in flags]
    code, output = run_serve(server_name, *flags, env=env)
    assert code == 2
    assert output.count("\n") == 1, output
    assert output.startswith("apixo-mock: error: " + expected.replace("BROKEN", broken)), output


@pytest.mark.parametrize("server_name", SERVERS)
def test_a_busy_port_is_named_with_its_source(server_name: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, output = run_serve(server_name, env={"APIXO_MOCK_PORT": str(port)})
    assert code == 2
    assert output.startswith(f"apixo-mock: error: APIXO_MOCK_PORT: port: 127.0.0.1:{port}: ")
    assert "in use" in output


# -- port 0 -------------------------------------------------------------------


@pytest.mark.parametrize("server_name", SERVERS)
def test_port_0_prints_the_port_actually_bound(server_name: str) -> None:
    with served(server_name, "--no-access-log") as serving:
        assert serving.port != 0
        wait_healthy(serving.base)
        assert serving.stop() == 0


@pytest.mark.parametrize("server_name", SERVERS)
def test_the_port_accepts_connections_once_the_start_up_line_is_out(server_name: str) -> None:
    # A script that waits for "serving on" connects at once; granian used to
    # print it before its socket listened (a refused connection).
    with served(server_name, "--no-access-log") as serving:
        socket.create_connection(("127.0.0.1", serving.port), timeout=DEADLINE_S).close()
        assert serving.stop() == 0


# -- signals ------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    """Whether a new server could bind the port (a listener left behind prevents it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_sigkill_of_serve_leaves_no_granian_worker_on_the_port() -> None:
    with served("granian", "--no-access-log") as serving:
        wait_healthy(serving.base)
        serving.process.kill()  # the parent only, as `kill -9 <pid>` does
        serving.process.wait(timeout=DEADLINE_S)
        waiter = threading.Event()
        for _ in range(400):
            if port_is_free(serving.port):
                break
            waiter.wait(0.05)
        assert port_is_free(serving.port), "a worker still holds the port"


@pytest.mark.parametrize("run", range(5))
def test_sigterm_during_start_up_stops_it_cleanly_every_time(run: int) -> None:
    """The moment the start-up line appears, granian is still starting its worker."""
    with served("granian", "--no-access-log") as serving:
        code = serving.stop(signal.SIGTERM)
    assert code == 0, serving.lines
    assert not any("refused to gracefully stop" in line for line in serving.lines)


@pytest.mark.parametrize("server_name", SERVERS)
def test_ctrl_c_stops_it_cleanly(server_name: str) -> None:
    with served(server_name, "--no-access-log") as serving:
        wait_healthy(serving.base)
        os.killpg(serving.process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole group
        code = serving.process.wait(timeout=DEADLINE_S)
    assert code == 0, serving.lines
    assert not any("refused to gracefully stop" in line for line in serving.lines)


# -- JSON logs ----------------------------------------------------------------


@pytest.mark.parametrize("server_name", SERVERS)
def test_json_log_format_makes_every_line_a_json_object(server_name: str) -> None:
    with served(server_name, "--log-format", "json", "--access-log") as serving:
        wait_healthy(serving.base)
        requests.get(f"{serving.base}/no-such-page", timeout=10)
        assert serving.stop() == 0
    objects = [json.loads(line) for line in serving.lines if line.strip()]
    assert all(
        isinstance(item, dict) and {"time", "level", "logger"} <= set(item) for item in objects
    )
    assert any("serving on" in item.get("message", "") for item in objects)
    assert any(item["logger"] == "apixo_mock.access" and item["status"] == 404 for item in objects)
    if server_name == "granian":
        assert any(item["logger"].startswith("_granian") for item in objects)


# -- slow clients -------------------------------------------------------------


def slow_connections(port: int, count: int) -> list[socket.socket]:
    """Connections that started a request and never finish its headers."""
    crowd = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        crowd.append(sock)
    return crowd


def closed_by_server(sock: socket.socket) -> bool:
    """Blocks until the server closes the connection or the socket's timeout passes."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize("server_name", SERVERS)
def test_an_honest_client_is_served_while_200_slow_ones_hold_connections(
    server_name: str,
) -> None:
    with served(server_name, "--no-access-log") as serving:
        wait_healthy(serving.base)
        crowd = slow_connections(serving.port, 200)
        try:
            answer = requests.get(f"{serving.base}/__admin/health", timeout=DEADLINE_S)
        finally:
            for sock in crowd:
                sock.close()
        assert answer.status_code == 200


@pytest.mark.parametrize("server_name", SERVERS)
def test_a_client_too_slow_with_its_headers_is_cut_off(server_name: str) -> None:
    with served(server_name, "--no-access-log", "--header-timeout-s", "1") as serving:
        wait_healthy(serving.base)
        (sock,) = slow_connections(serving.port, 1)
        with sock:
            assert closed_by_server(sock)


def test_granian_holds_the_connection_limit_until_the_header_timeout_frees_room() -> None:
    flags = ("--no-access-log", "--connection-limit", "2", "--header-timeout-s", "2")
    with served("granian", *flags) as serving:
        wait_healthy(serving.base)
        crowd = slow_connections(serving.port, 2)
        try:
            answer = requests.get(f"{serving.base}/__admin/health", timeout=DEADLINE_S)
            # Served only once the server had cut both slow ones off, not beside them.
            assert answer.status_code == 200
            for sock in crowd:
                sock.settimeout(0.5)  # already closed, or about to be: not still waiting
                assert closed_by_server(sock)
        finally:
            for sock in crowd:
                sock.close()
