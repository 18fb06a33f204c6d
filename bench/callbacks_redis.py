"""Callbacks shared through Redis: N callbacks due at once, delivered by P processes.

A throwaway redis-server and a granian receiver (bench/callback_receiver.py)
on free loopback ports; the N deliveries are scheduled in Redis due one
second ahead; then P worker processes, each running one callback dispatcher
(`--senders`, 8 by default; real HTTP) on the same Redis with a clock frozen just before
that second, all advance their clocks at one signal. Measured: from the
signal until no work is queued or claimed, and every delivery is delivered
exactly once (checked in the shared attempt log); and, as a measure the
machine's load does not sway, the Redis commands per callback (scripts, and
the commands the scripts ran), the benchmark's own polling left out. Each
script call (`evalsha`) is one round trip; the senders' settle scripts overlap
their next POST (docs/callbacks.md).

    .venv/bin/python bench/callbacks_redis.py [--tasks 10000] [--processes 2] [--repeat 1]
        [--senders 8] [--receiver-workers 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Final, cast

import redis
from callback_receiver import ReceiverProcess

from mock_server.core.callbacks import CallbackDispatcher, CallbackEffect, CallbackPolicy
from mock_server.core.callbacks.records import DeliveryRecord
from mock_server.core.clock import MockClock
from mock_server.core.stores.redis.deliveries import RedisDeliveries
from mock_server.outbound import HttpCallbackSender
from mock_server.testing.redis_server import redis_server

START = 1_700_000_000_000
PREFIX = "bench:"


def worker(redis_url: str, receiver_url: str, senders: int = 8) -> None:
    """One process's dispatcher: waits for the go signal, advances its clock, delivers."""
    client = redis.Redis.from_url(redis_url, socket_timeout=None)  # BLPOPs wait long
    clock = MockClock(lambda: START, frozen=True)
    store = RedisDeliveries(client, PREFIX)
    policy = CallbackPolicy(jitter=0.0, senders=senders)
    body = b'{"code":200,"msg":"success","data":{}}'
    with CallbackDispatcher(
        clock, HttpCallbackSender(), policy, deliveries=store, render=lambda _: body
    ):
        client.rpush("bench:ready", 1)
        client.blpop(["bench:go"], timeout=600)
        clock.advance(1000)
        client.blpop(["bench:stop"], timeout=600)


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


def run(
    redis_url: str, receiver_url: str, tasks: int, processes: int, senders: int = 8
) -> tuple[float, float, dict[str, float]]:
    """Seconds until all were delivered, Redis's script CPU and commands per callback."""
    client = redis.Redis.from_url(redis_url, socket_timeout=None)  # BLPOPs wait long
    client.flushdb()
    schedule(client, tasks, receiver_url + "/hook")
    command = [sys.executable, __file__, "--worker", redis_url, receiver_url, str(senders)]
    workers = [subprocess.Popen(command) for _ in range(processes)]
    try:
        for _ in workers:
            client.blpop(["bench:ready"], timeout=60)
        client.config_resetstat()
        started = time.perf_counter()
        client.rpush("bench:go", *[1] * processes)
        while any(queued(client)):
            # A benchmark's poll of the shared queue, not a test: every 10 ms (the
            # precision of the figure), as it competes with the workers for the CPU.
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        stats = cast("dict[str, dict[str, float]]", client.info("commandstats"))
        script_us = sum(v["usec"] for k, v in stats.items() if k.startswith("cmdstat_eval"))
        calls = {
            name: v["calls"] / tasks
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
        return elapsed, script_us / tasks, calls
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
    parser.add_argument("--receiver-workers", type=int, default=2, help="granian workers")
    parser.add_argument("--worker", nargs=3, metavar=("REDIS_URL", "RECEIVER_URL", "SENDERS"))
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], int(args.worker[2]))
        return
    with (
        tempfile.TemporaryDirectory() as folder,
        redis_server(Path(folder)) as server,
        ReceiverProcess(workers=args.receiver_workers) as receiver,
    ):
        for _ in range(args.repeat):
            elapsed, script_us, calls = run(
                server.url, receiver.url, args.tasks, args.processes, args.senders
            )
            rate = args.tasks / elapsed
            print(
                f"{args.tasks} callbacks due at once, {args.processes} processes on Redis "
                f"({args.senders} senders each): "
                f"all delivered once in {elapsed:.2f} s ({rate:,.0f}/s); "
                f"Redis script CPU {script_us:.0f} us per callback"
            )
            listed = ", ".join(f"{name} {n:.3f}" for name, n in sorted(calls.items()))
            print(f"  Redis commands per callback: {listed}")


if __name__ == "__main__":
    main()
