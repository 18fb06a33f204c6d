"""`apixo-mock serve` processes on one Redis: several ports, several workers, restarts.

Real processes (the serve helpers of tests/e2e), a real redis-server; every
process is killed with its session at the end.
"""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_server.testing.redis_server import RedisServer, redis_server
from tests.e2e.test_serve_process import run_serve, served, wait_healthy

AUTH = {"Authorization": "Bearer key-served-redis-0001"}
BODY = {"input": {"mode": "gpt-image-1", "prompt": "a fox"}}
TIMEOUT_S = 10


def submit(base: str) -> str:
    answer = requests.post(
        f"{base}/api/v1/generateTask/gpt-image-1", json=BODY, headers=AUTH, timeout=TIMEOUT_S
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"]["taskId"])


def status(base: str, task_id: str) -> Any:
    return requests.get(
        f"{base}/api/v1/statusTask/gpt-image-1",
        params={"taskId": task_id},
        headers=AUTH,
        timeout=TIMEOUT_S,
    )


def now(base: str) -> int:
    return int(requests.get(f"{base}/__admin/clock", timeout=TIMEOUT_S).json()["data"]["now"])


def test_two_serve_processes_on_one_redis_are_one_mock(redis_url: str) -> None:
    flags = ("--store", redis_url, "--frozen", "--profile", "quick")
    with served("granian", *flags) as one, served("granian", *flags) as two:
        task_id = submit(one.base)
        assert status(two.base, task_id).json()["data"]["state"] == "pending"
        requests.post(f"{one.base}/__admin/clock/advance", json={"ms": 60_000}, timeout=TIMEOUT_S)
        assert now(one.base) == now(two.base)
        assert status(two.base, task_id).json()["data"]["state"] == "success"
        assert requests.post(f"{two.base}/__admin/reset", json={}, timeout=TIMEOUT_S).ok
        assert status(one.base, task_id).status_code == 404


def test_two_workers_serve_one_mock(redis_url: str) -> None:
    with served("granian", "--store", redis_url, "--workers", "2") as mock:
        wait_healthy(mock.base)
        # A fresh connection per request: granian's workers each accept some.
        ids = [submit(mock.base) for _ in range(20)]
        answers = [status(mock.base, task_id).status_code for task_id in ids]
        assert answers == [200] * 20
        assert len(children(mock.process.pid)) >= 2  # granian's two worker processes


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--workers", "2"], "command line: workers: 2 workers need a shared store"),
        (["--store", "http://127.0.0.1:1/0"], "command line: store: 'http://127.0.0.1:1/0' is not"),
        (["--store", "redis://127.0.0.1:1/0"], "command line: store: cannot reach Redis at redis"),
    ],
)
def test_store_and_workers_are_checked_at_start_up(flags: list[str], expected: str) -> None:
    code, output = run_serve("granian", *flags)
    assert code == 2
    assert output.count("\n") == 1, output
    assert output.startswith("apixo-mock: error: " + expected), output


def test_killing_every_process_loses_no_accepted_task(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis", persistent=True) as server:
        ids = _submit_then_kill(server)
        with served("granian", "--store", server.url, "--workers", "2") as again:
            answers = [status(again.base, task_id).status_code for task_id in ids]
    assert answers == [200] * len(ids)


def _submit_then_kill(server: RedisServer) -> list[str]:
    with (
        served("granian", "--store", server.url, "--workers", "2") as one,
        served("granian", "--store", server.url) as two,
    ):
        ids = [submit(mock.base) for mock in (one, two) for _ in range(10)]
        for mock in (one, two):
            os.killpg(mock.process.pid, signal.SIGKILL)  # no shutdown hook runs
            mock.process.wait(timeout=TIMEOUT_S)
        return ids


def test_a_mock_on_the_same_host_reaches_redis_through_its_unix_socket() -> None:
    # A short folder: a unix socket's path must stay under ~100 bytes.
    with (
        tempfile.TemporaryDirectory(dir="/tmp") as folder,
        redis_server(Path(folder), unix_socket=True) as server,
        served("granian", "--store", server.unix_url, "--workers", "2") as mock,
    ):
        task_id = submit(mock.base)
        assert status(mock.base, task_id).json()["data"]["taskId"] == task_id
