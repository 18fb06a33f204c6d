"""Callbacks shared through Redis: N callbacks due at once, delivered by P processes.

A throwaway redis-server and a receiver (bench/callback_receiver.py: the
`minimal` one by default, which records every POST; `--receiver granian` for
the earlier one) on free loopback ports; the N deliveries are scheduled in
Redis due one second ahead; then P worker processes, each running one
callback dispatcher (`--senders`, 8 by default; real HTTP) on the same Redis
with a clock frozen just before that second, all advance their clocks at one
signal. Measured: from the signal until no work is queued or claimed, and
every delivery is delivered exactly once (checked in the shared attempt log,
and by the minimal receiver's count); and, as measures the machine's load
sways little, the CPU time per callback of the workers, of redis-server and of
the receiver (with its worker processes) over that interval, from /proc, and
the Redis commands per callback (scripts, and the commands the scripts ran)
with Redis's microseconds per call of each, the benchmark's own polling left
out. Each script call (`evalsha`) is one round trip; the senders' settle
scripts overlap their next POSTs (docs/callbacks.md). `--profile PREFIX` writes
each worker's cProfile, all its threads merged, to PREFIX.<pid>.

    .venv/bin/python bench/callbacks_redis.py [--tasks 10000] [--processes 2] [--repeat 1]
        [--senders 8] [--receiver minimal|granian|...] [--receiver-workers 2]
        [--unix] [--profile PREFIX]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

import redis
from callback_receiver import KINDS, ReceiverProcess

from mock_server.core.callbacks import CallbackDispatcher, CallbackEffect, CallbackPolicy
from mock_server.core.callbacks.records import DeliveryRecord
from mock_server.core.clock import MockClock
from mock_server.core.redis_url import connect
from mock_server.core.stores.redis.deliveries import RedisDeliveries
from mock_server.outbound import HttpCallbackSender
from mock_server.serving import tune_interpreter
from mock_server.testing.redis_server import redis_server

START = 1_700_000_000_000
PREFIX = "bench:"


def cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds (user, system) a process and its live descendants have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        user, system = int(fields[11]) / tick, int(fields[12]) / tick
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0  # gone meanwhile
    for child in children:
        more = cpu_s(child)
        user, system = user + more[0], system + more[1]
    return user, system


def group_cpu_s(pids: list[int]) -> tuple[float, float]:
    """`cpu_s` summed over processes."""
    times = [cpu_s(pid) for pid in pids]
    return sum(t[0] for t in times), sum(t[1] for t in times)


def profiled(action: Callable[[Callable[[], None]], None], path: str) -> None:
    """Run `action(done)` with every thread it starts profiled; `done()` writes the merged
    stats to `path` (so that what follows, the dispatcher's close, is left out)."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.runcall(run, self)

    main = cProfile.Profile()

    def done() -> None:
        stats = pstats.Stats(main)  # stops the main thread's profile
        with lock:
            for profile in profiles:
                stats.add(profile)
        stats.dump_stats(path)

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    try:
        main.runcall(action, done)
    finally:
        threading.Thread.run = run  # type: ignore[method-assign]


@dataclass(frozen=True, slots=True)
class Options:
    """How the workers run: sender threads each, and where to write profiles (or None)."""

    senders: int = 8
    profile: str | None = None


def worker(
    redis_url: str, receiver_url: str, senders: int = 8, done: Callable[[], None] = lambda: None
) -> None:
    """One process's dispatcher: waits for the go signal, advances its clock, delivers;
    calls `done` at the stop signal, before the dispatcher closes."""
    tune_interpreter()  # as serve's worker does
    client = redis.Redis.from_url(redis_url, socket_timeout=None)  # BLPOPs wait long
    clock = MockClock(lambda: START, frozen=True)
    store = RedisDeliveries(connect(redis_url), PREFIX)  # the client `serve` uses
    policy = CallbackPolicy(jitter=0.0, senders=senders)
    body = b'{"code":200,"msg":"success","data":{}}'
    with CallbackDispatcher(
        clock, HttpCallbackSender(), policy, deliveries=store, render=lambda _: body
    ):
        client.rpush("bench:ready", 1)
        client.blpop(["bench:go"], timeout=600)
        clock.advance(1000)
        client.blpop(["bench:stop"], timeout=600)
        done()


def schedule(client: redis.Redis, tasks: int, url: str) -> None:
    store = RedisDeliveries(client, PREFIX)
    origin = url.rsplit("/", 1)[0]
    for i in range(tasks):
        store.schedule(DeliveryRecord(f"t{i}", url, origin, CallbackEffect(), START + 1000))


def queued(client: redis.Redis) -> list[int]:
    """Works queued and works claimed, in one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.zcard(PREFIX + "cb:due")
    pipe.hlen(PREFIX + "cb:work")
    return cast("list[int]", pipe.execute())


# The benchmark's own commands: its poll of the queue and its reading of the results.
_OWN: Final = frozenset({"zcard", "hlen", "info", "lrange", "blpop", "hello", "config|resetstat"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """One run: seconds until all were delivered, Redis's script CPU and commands per
    callback, and CPU microseconds per callback of the workers, Redis and the receiver."""

    elapsed_s: float
    script_us: float
    calls: dict[str, float]
    usec: dict[str, float]  # Redis's own microseconds per call of each command
    cpu_us: dict[str, tuple[float, float]]  # (user, system)


def run(
    redis_url: str, receiver: ReceiverProcess, tasks: int, processes: int, options: Options
) -> Outcome:
    """Deliver `tasks` callbacks with `processes` workers; what it took."""
    client = redis.Redis.from_url(redis_url, socket_timeout=None)  # BLPOPs wait long
    client.flushdb()
    schedule(client, tasks, receiver.url + "/hook")
    received = receiver.count() if receiver.kind == "minimal" else None
    command = [sys.executable, __file__, "--worker", redis_url, receiver.url]
    command += [str(options.senders), options.profile or ""]
    workers = [subprocess.Popen(command) for _ in range(processes)]
    server_pid = int(client.info("server")["process_id"])
    try:
        for _ in workers:
            client.blpop(["bench:ready"], timeout=60)
        client.config_resetstat()
        pids = {
            "workers": [w.pid for w in workers],
            "redis": [server_pid],
            "receiver": [receiver.pid],
        }
        cpu = {name: group_cpu_s(group) for name, group in pids.items()}
        started = time.perf_counter()
        client.rpush("bench:go", *[1] * processes)
        while any(queued(client)):
            # A benchmark's poll of the shared queue, not a test: every 10 ms (the
            # precision of the figure), as it competes with the workers for the CPU.
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        cpu_us = {}
        for name, group in pids.items():
            user, system = group_cpu_s(group)
            cpu_us[name] = (
                (user - cpu[name][0]) * 1e6 / tasks,
                (system - cpu[name][1]) * 1e6 / tasks,
            )
        stats = cast("dict[str, dict[str, float]]", client.info("commandstats"))
        script_us = sum(v["usec"] for k, v in stats.items() if k.startswith("cmdstat_eval"))
        calls = {
            name: v["calls"] / tasks
            for k, v in stats.items()
            if (name := k.removeprefix("cmdstat_")) not in _OWN
        }
        usec = {
            name: v["usec_per_call"]
            for k, v in stats.items()
            if (name := k.removeprefix("cmdstat_")) not in _OWN
        }
        log = [
            json.loads(entry)
            for entry in cast("list[bytes]", client.lrange(PREFIX + "cb:log", 0, -1))
        ]
        per_task = Counter(entry["t"] for entry in log if entry["o"] == "delivered")
        if len(log) != tasks or per_task != Counter({f"t{i}": 1 for i in range(tasks)}):
            raise RuntimeError(f"not each delivered once: {len(log)} attempts logged")
        if received is not None and receiver.count() - received != tasks:
            raise RuntimeError(f"the receiver recorded {receiver.count() - received} POSTs")
        return Outcome(elapsed, script_us / tasks, calls, usec, cpu_us)
    finally:
        client.rpush("bench:stop", *[1] * processes)
        for process in workers:
            process.wait(timeout=30)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--senders", type=int, default=8, help="sender threads per process")
    parser.add_argument("--receiver", choices=KINDS, default="minimal")
    parser.add_argument(
        "--unix", action="store_true", help="workers reach Redis by its unix socket, not TCP"
    )
    parser.add_argument("--receiver-workers", type=int, default=2, help="granian workers")
    parser.add_argument(
        "--profile", metavar="PREFIX", help="cProfile each worker (all threads) to PREFIX.<pid>"
    )
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        redis_url, receiver_url, senders, profile = args.worker

        def act(done: Callable[[], None] = lambda: None) -> None:
            worker(redis_url, receiver_url, int(senders), done)

        if profile:
            profiled(act, f"{profile}.{os.getpid()}")
        else:
            act()
        return
    options = Options(args.senders, args.profile)
    with (
        tempfile.TemporaryDirectory() as folder,
        redis_server(Path(folder), unix_socket=args.unix) as server,
        ReceiverProcess(workers=args.receiver_workers, kind=args.receiver) as receiver,
    ):
        for _ in range(args.repeat):
            url = server.unix_url if args.unix else server.url
            outcome = run(url, receiver, args.tasks, args.processes, options)
            rate = args.tasks / outcome.elapsed_s
            print(
                f"{args.tasks} callbacks due at once, {args.processes} processes on Redis"
                f"{' by unix socket' if args.unix else ''} "
                f"({args.senders} senders each, {args.receiver} receiver): "
                f"all delivered once in {outcome.elapsed_s:.2f} s ({rate:,.0f}/s); "
                f"Redis script CPU {outcome.script_us:.0f} us per callback"
            )
            cpu = ", ".join(
                f"{name} {user + system:.0f} ({user:.0f} user)"
                for name, (user, system) in outcome.cpu_us.items()
            )
            total = sum(map(sum, outcome.cpu_us.values()))
            print(f"  CPU us per callback: {cpu}; total {total:.0f}")
            listed = ", ".join(
                f"{name} {n:.3f} ({outcome.usec[name]:.1f} us)"
                for name, n in sorted(outcome.calls.items())
            )
            print(f"  Redis commands per callback (us per call): {listed}")


if __name__ == "__main__":
    main()
