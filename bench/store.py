"""Throughput of the mock on each store, side by side in one run, with wrk.

    python bench/store.py [--duration 10] [--warmup 3]
        [--targets memory,redis,redis-2w,redis-2p,unix,unix-2w,wiremock,bare,bare-2w]

Targets (each `apixo-mock serve` with its limits raised out of the way):
- memory: the default in-memory store, one process, one worker;
- redis: `--store redis://...` on a throwaway redis-server (Debian's), one worker;
- redis-2w: the same with `--workers 2`;
- redis-2p: two separate `serve` processes on two ports sharing the Redis; wrk
  drives both at once (1 thread, 25 connections each) and their rates add up;
- unix, unix-2w: one worker and two, on the same Redis through its unix socket
  (`--store unix:///path/redis.sock`), the choice when Redis runs on the mock's host;
- wiremock: the warm WireMock peer with canned answers (bench/peers.py), the
  rate a mock of several workers is held to;
- bare, bare-2w: a bare Flask app with the canned answers under serve's granian
  settings, one worker and two: what this machine gives any Flask app.

Status reads rotate over a finished, a processing and a pending task; submits
over the smallest valid body and a typical one (as bench/server.py). wrk runs
2 threads and 50 connections in all after a warm-up. Compare ratios from one
run only: this machine is shared and noisy. Each target gets its own key prefix.
"machine busy" is the share of all the machine's cores in use during a run
(wrk, the mock, Redis and anything else): near 100%, more workers cannot add.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import peers
import server
from server import SMALL_BODY, STATUS_PATH, SUBMIT_PATH, TYPICAL_BODY, Run

from mock_server.testing.redis_server import RedisServer, redis_server

TARGETS = (
    "memory",
    "redis",
    "redis-2w",
    "redis-2p",
    "unix",
    "unix-2w",
    "wiremock",
    "bare",
    "bare-2w",
)
PEERS = ("wiremock", "bare", "bare-2w")  # measured as bench/server.py measures them


def serve_command(port: int, *flags: str) -> list[str]:
    """`apixo-mock serve` on `port`, limits raised, with `flags`."""
    binary = str(Path(sys.executable).parent / "apixo-mock")
    raised = ["--rpm", "1000000000", "--max-unfinished", "1000000000", "--no-access-log"]
    return [binary, "serve", "--port", str(port), *raised, *flags]


def flags_of(name: str, redis: RedisServer) -> tuple[int, list[str]]:
    """How many processes a target runs, and their flags."""
    store = ["--store", redis.url, "--store-prefix", f"bench-{name}:"]
    unix = ["--store", redis.unix_url, "--store-prefix", f"bench-{name}:"]
    return {
        "memory": (1, []),
        "redis": (1, store),
        "redis-2w": (1, [*store, "--workers", "2"]),
        "redis-2p": (2, store),
        "unix": (1, unix),
        "unix-2w": (1, [*unix, "--workers", "2"]),
    }[name]


def wrk_all(bases: list[str], script: str, duration: int, pids: list[int]) -> Run:
    """wrk against every base at once, 2 threads and 50 connections split evenly; rates add."""
    if len(bases) == 1:
        return server.wrk(bases[0], script, duration, pids[0])
    runs: list[Run] = []
    threads = [
        # One wrk thread and 25 connections per process: 2 and 50 in all, as for one target.
        threading.Thread(
            target=lambda b=b, p=p: runs.append(server.wrk(b, script, duration, p, 1, 25))
        )
        for b, p in zip(bases, pids, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = sum(r.cpu_us * r.rps for r in runs) / max(sum(r.rps for r in runs), 1)
    rps, errors = sum(r.rps for r in runs), sum(r.errors for r in runs)
    return Run(rps, runs[0].p50, runs[0].p99, errors, cpu, max(r.busy for r in runs))


def measure(
    name: str, redis: RedisServer, args: argparse.Namespace, scratch: Path
) -> dict[str, Run]:
    """Status and submit runs against one target, each after a warm-up."""
    if name in PEERS:
        return server.measure(name, args, scratch)
    processes, flags = flags_of(name, redis)
    with ExitStack() as stack:
        ports = [server.free_port() for _ in range(processes)]
        pids = [stack.enter_context(server.serving(serve_command(p, *flags), p)) for p in ports]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        ids = server.mock_task_ids(bases[0])
        status_paths = [f"{STATUS_PATH}?taskId={task_id}" for task_id in ids]
        bodies = [json.dumps(SMALL_BODY), json.dumps(TYPICAL_BODY)]
        status = server.rotating_script(str(scratch), f"{name}-status", "GET", status_paths, [])
        submit = server.rotating_script(
            str(scratch), f"{name}-submit", "POST", [SUBMIT_PATH], bodies
        )
        results = {}
        redis_pid = int(redis_client(redis).info("server")["process_id"])
        for endpoint, script in (("status", status), ("submit", submit)):
            wrk_all(bases, script, args.warmup, pids)
            before = server.tree_cpu_s(redis_pid)
            run = wrk_all(bases, script, args.duration, pids)
            spent = server.tree_cpu_s(redis_pid) - before
            results[endpoint] = replace(run, store_us=spent / max(run.rps * args.duration, 1) * 1e6)
            print(name, endpoint, results[endpoint], flush=True)
    return results


def redis_client(redis: RedisServer) -> Any:
    """A client of the benchmark's Redis (closed with the process)."""
    import redis as redis_py

    return redis_py.Redis.from_url(redis.url)


def table(results: dict[str, dict[str, Run]]) -> list[str]:
    """Markdown rows, with each rate as a multiple of the in-memory single worker's."""
    lines = [
        "| store | endpoint | req/s | p50 | p99 | errors | server CPU µs/req "
        "| Redis CPU µs/req | machine busy | x memory | x WireMock |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        for endpoint, run in runs.items():
            ratios = [
                _ratio(run, results.get(other, {}).get(endpoint))
                for other in ("memory", "wiremock")
            ]
            cells = [name, endpoint, f"{run.rps:,.0f}", run.p50, run.p99, str(run.errors)]
            store = f"{run.store_us:,.0f}" if run.store_us is not None else "-"
            usage = [f"{run.cpu_us:,.0f}", store, f"{run.busy:.0%}"]
            lines.append("| " + " | ".join([*cells, *usage, *ratios]) + " |")
    return lines


def _ratio(run: Run, base: Run | None) -> str:
    return f"{run.rps / base.rps:.2f}" if base is not None and base.rps else "-"


def main() -> int:
    """Measure every target in one run and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--targets", default=",".join(TARGETS))
    args = parser.parse_args()
    args.threads = None  # the peers' and the mock's own defaults, as `make bench` runs them
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (Debian: apt-get install {tool})", file=sys.stderr)
            return 2
    targets = args.targets.split(",")
    if set(PEERS) & set(targets):
        peers.install()
    results: dict[str, dict[str, Run]] = {}
    # A short folder: a unix socket's path must stay under ~100 bytes.
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:
        folder = Path(directory)
        with redis_server(folder / "redis", unix_socket=True) as redis:
            for name in targets:
                results[name] = measure(name, redis, args, folder)
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
