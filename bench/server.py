"""Throughput of the served mock beside a bare Flask app, under the same server, with wrk.

    python bench/server.py [--duration 10] [--threads-list 2,4,8] [--server granian]

Runs wrk (2 threads, 50 connections, loopback only) against status reads of a
finished task and against submits, for the mock and for bench/bare_app.py.
Also times `apixo-mock serve` from process start to its first answer.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).parents[1]
AUTH = "Bearer bench-key-0001"
SUBMIT_BODY = json.dumps(
    {
        "input": {
            "mode": "gpt-image-1",
            "prompt": "a benchmark",
            "aspect_ratio": "1:1",
            "num_images": 1,
        }
    }
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, deadline_s: float = 20.0) -> float:
    """Seconds until `url` answers at all."""
    start = time.perf_counter()
    while time.perf_counter() - start < deadline_s:
        try:
            requests.get(url, timeout=0.5)
            return time.perf_counter() - start
        except requests.ConnectionError:
            time.sleep(0.01)
    raise RuntimeError(f"{url} never answered")


@contextmanager
def serving(command: list[str], port: int) -> Iterator[float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as process:
        try:
            wait_ready(f"http://127.0.0.1:{port}/api/v1/statusTask/gpt-image-1")
            yield time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(timeout=20)


def mock_command(port: int, server: str, threads: int) -> list[str]:
    return [
        str(Path(sys.executable).parent / "apixo-mock"),
        "serve",
        "--port",
        str(port),
        "--server",
        server,
        "--threads",
        str(threads),
        "--profile",
        "instant",
        "--no-access-log",
        "--seed",
        "1",
        "--rpm",
        "1000000000",
        "--max-unfinished",
        "1000000000",
    ]


def bare_command(port: int, server: str, threads: int) -> list[str]:
    if server == "waitress":
        return [
            sys.executable,
            "-m",
            "waitress",
            f"--port={port}",
            "--host=127.0.0.1",
            f"--threads={threads}",
            "--call",
            "bench.bare_app:create_app",
        ]
    return [
        str(Path(sys.executable).parent / "granian"),
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--blocking-threads",
        str(threads),
        "--factory",
        "--log-level",
        "warning",
        "bench.bare_app:create_app",
    ]


def wrk(url: str, duration: int, script: str | None = None) -> tuple[float, str]:
    command = ["wrk", "-t2", "-c50", f"-d{duration}s", "--latency", "-H", f"Authorization: {AUTH}"]
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    distribution = output.split("Latency Distribution", 1)[-1]
    p99 = re.search(r"99%\s+(\S+)", distribution).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        p99 += f" ({errors.group(1)} non-2xx)"
    return rate, p99


def submit_script(directory: str) -> str:
    path = Path(directory) / "submit.lua"
    body = SUBMIT_BODY.replace('"', '\\"')
    lines = [
        'wrk.method = "POST"',
        f'wrk.body = "{body}"',
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def finished_task(base: str) -> str:
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    task = requests.post(
        f"{base}/api/v1/generateTask/gpt-image-1", data=SUBMIT_BODY, headers=headers, timeout=5
    )
    task_id = str(task.json()["data"]["taskId"])
    requests.post(f"{base}/__admin/clock/advance", json={"ms": 60_000}, timeout=5)
    return task_id


def measure(kind: str, server: str, threads: int, duration: int, script: str) -> dict[str, object]:
    port = free_port()
    command = (
        mock_command(port, server, threads)
        if kind == "mock"
        else bare_command(port, server, threads)
    )
    with serving(command, port) as startup:
        base = f"http://127.0.0.1:{port}"
        task_id = finished_task(base) if kind == "mock" else "task_12345678"
        status = wrk(f"{base}/api/v1/statusTask/gpt-image-1?taskId={task_id}", duration)
        submit = wrk(f"{base}/api/v1/generateTask/gpt-image-1", duration, script)
    return {
        "app": kind,
        "server": server,
        "threads": threads,
        "startup_s": round(startup, 3),
        "status_rps": status[0],
        "status_p99": status[1],
        "submit_rps": submit[0],
        "submit_p99": submit[1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--threads-list", default="8")
    parser.add_argument("--servers", default="granian,waitress")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        script = submit_script(directory)
        for server in args.servers.split(","):
            for threads in (int(t) for t in args.threads_list.split(",")):
                for kind in ("bare", "mock"):
                    rows.append(measure(kind, server, threads, args.duration, script))
                    print(json.dumps(rows[-1]), flush=True)
    print("\n| app | server | threads | status req/s | status p99 | submit req/s | submit p99 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [r["app"], r["server"], r["threads"], f"{r['status_rps']:.0f}", r["status_p99"]]
        cells += [f"{r['submit_rps']:.0f}", r["submit_p99"]]
        print("| " + " | ".join(map(str, cells)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
