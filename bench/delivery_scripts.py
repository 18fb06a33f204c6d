"""Redis's own CPU per callback in the delivery scripts: a measure load barely sways.

    python bench/delivery_scripts.py [--deliveries 10000] [--repeat 3] [--callgrind]

On a throwaway redis-server, schedules N deliveries due at once, then runs the
sequence a dispatcher runs on them through the real `RedisDeliveries`, without
HTTP: claim up to 64 works, renew their leases 16 at a time (as each sender
takes 16), settle each send as delivered (one round trip each, as Redis reads
a sender's settle apart from the next one). Reported per callback: the CPU
redis-server used (`INFO cpu`, user + system, so its reads and writes of the
scripts and answers count too) in all and in each of the three scripts (from
`INFO cpu` read around each phase, less what an `INFO` itself costs), the
scripts' own run time as `INFO commandstats` counts it, and the commands Redis
ran (scripts, and the commands they called). Checks that each delivery was
delivered once. Redis runs one command at a time on one thread, so its CPU per
script varies little with the machine's load; compare two versions by running
them alternately.

With `--callgrind` the server runs under valgrind's callgrind instead (about
fifty times slower: use a few thousand deliveries), and what is reported is
the instructions redis-server ran per callback in each script, a count the
machine's load does not sway at all (it misses only the kernel's part of the
reads and writes). The three phases then run one after another (every claim,
then every renewal, then every settle), each counted apart by
`callgrind_control`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, cast

import redis

from mock_server.core.callbacks import CallbackEffect
from mock_server.core.callbacks.policy import SendResult
from mock_server.core.callbacks.records import DeliveryRecord, Work
from mock_server.core.redis_url import connect
from mock_server.core.stores.redis.deliveries import RedisDeliveries
from mock_server.testing.redis_server import redis_server

START = 1_700_000_000_000
PREFIX = "bench:"
OWNER = "0123456789abcdef0123456789abcdef"  # a dispatcher's name: a uuid4's hex
URL = "http://127.0.0.1:8001/hook"
CLAIM, TAKE = 64, 16  # works per claim (a quarter of the claim limit), per sender's visit
DELIVERED = SendResult(200, None, 1.25)


def cpu_s(client: redis.Redis) -> tuple[float, float]:
    """redis-server's CPU seconds so far (user + system), and its scripts' run time."""
    info: dict[str, Any] = client.info("cpu", "commandstats")
    scripts = info.get("cmdstat_evalsha", {}).get("usec", 0) / 1e6
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"]), scripts


class Meter:
    """Redis CPU seconds spent in named phases, each read with `INFO cpu` around it."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self.spent: dict[str, float] = {}
        self.scripts: dict[str, float] = {}
        # What an INFO costs between two readings: taken off each phase.
        readings = [cpu_s(client)[0] for _ in range(201)]
        self._own = (readings[-1] - readings[0]) / 200

    def phase(self, name: str, action: Callable[[], Any]) -> Any:
        """Run `action`, adding the CPU Redis spent on it, and its scripts' time, to `name`."""
        cpu, scripts = cpu_s(self._client)
        result = action()
        cpu_after, scripts_after = cpu_s(self._client)
        self.spent[name] = self.spent.get(name, 0.0) + cpu_after - cpu - self._own
        self.scripts[name] = self.scripts.get(name, 0.0) + scripts_after - scripts
        return result


def settle_all(store: RedisDeliveries, works: list[Work]) -> int:
    """Settle every send of `works` as delivered, one script each; how many counted."""
    counted = 0
    for work in works:
        for index in range(len(work.sends)):
            if store.settle(work, index, OWNER, DELIVERED, START + 1000, None) is not None:
                counted += 1
    return counted


def deliver(store: RedisDeliveries, meter: Meter) -> int:
    """Claim, renew and settle until nothing is due, as a dispatcher would; sends settled."""
    settled = 0
    while True:
        works: list[Work] = meter.phase("claim", lambda: store.claim(START + 1000, OWNER, CLAIM, 0))
        if not works:
            return settled
        for k in range(0, len(works), TAKE):
            share = works[k : k + TAKE]
            tokens = [work.token for work in share]
            held = meter.phase("renew", partial(store.renew, tokens, OWNER))
            if held != set(tokens):
                raise RuntimeError("a lease was lost")
            settled += meter.phase("settle", partial(settle_all, store, share))


def run(url: str, deliveries: int) -> None:
    """One measured run of `deliveries` callbacks; prints its figures."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    store = RedisDeliveries(connect(url), PREFIX)  # the client `serve` uses
    for i in range(deliveries):  # not measured
        store.schedule(DeliveryRecord(f"t{i:06d}", URL, URL[:21], CallbackEffect(), START + 1000))
    meter = Meter(client)
    client.config_resetstat()
    settled = deliver(store, meter)
    stats = cast("dict[str, dict[str, float]]", client.info("commandstats"))
    if settled != deliveries:
        raise RuntimeError(f"{settled} of {deliveries} settled")
    states = {record.state for record in store.deliveries()}
    if states != {"delivered"} or any(r.delivered != 1 for r in store.deliveries()):
        raise RuntimeError(f"not each delivered once: {states}")
    per = {name: spent * 1e6 / deliveries for name, spent in meter.spent.items()}
    lua = {name: spent * 1e6 / deliveries for name, spent in meter.scripts.items()}
    calls = {
        k.removeprefix("cmdstat_"): v["calls"] / deliveries
        for k, v in sorted(stats.items())
        if k not in ("cmdstat_info", "cmdstat_config|resetstat")
    }
    usec = {k.removeprefix("cmdstat_"): v["usec_per_call"] for k, v in stats.items()}
    listed = ", ".join(f"{name} {n:.3f} ({usec[name]:.2f} us)" for name, n in calls.items())
    print(
        f"{deliveries} callbacks: Redis CPU {sum(per.values()):.1f} us per callback "
        f"(claim {per['claim']:.1f}, renew {per['renew']:.1f}, settle {per['settle']:.1f}); "
        f"scripts' run time {sum(lua.values()):.1f} us (claim {lua['claim']:.1f}, "
        f"renew {lua['renew']:.1f}, settle {lua['settle']:.1f})"
    )
    print(f"  commands per callback: {sum(calls.values()):.3f} ({listed})")
    client.close()


@contextmanager
def callgrind_server(folder: Path) -> Iterator[tuple[int, int]]:
    """redis-server under callgrind on a free loopback port: its port and process id."""
    valgrind, server = shutil.which("valgrind"), shutil.which("redis-server")
    if valgrind is None or server is None:
        raise SystemExit("--callgrind needs valgrind and redis-server (Debian packages)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [valgrind, "--tool=callgrind", f"--callgrind-out-file={folder / 'cg.out'}"]
    command += [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    # Its timer once a second, not ten times: what it runs meanwhile is counted too.
    command += ["--save", "", "--appendonly", "no", "--hz", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("redis-server under callgrind did not start") from None
                time.sleep(0.1)  # a benchmark waiting for its server, not a test
        client.close()
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


def instructions(folder: Path, pid: int, action: Callable[[], Any], name: str) -> int:
    """The instructions redis-server ran during `action` (counted from zero, then dumped)."""
    control = ["callgrind_control"]
    subprocess.run([*control, "-z", str(pid)], check=True, capture_output=True)
    action()
    subprocess.run([*control, "-d", name, str(pid)], check=True, capture_output=True)
    for dump in folder.glob("cg.out.*"):
        text = dump.read_text()
        if re.search(rf"^desc: Trigger: .*\b{name}$", text, re.MULTILINE):
            dump.unlink()
            found = re.search(r"^summary: (\d+)", text, re.MULTILINE)
            return int(found.group(1)) if found else 0
    raise RuntimeError(f"callgrind wrote no dump named {name}")


def run_callgrind(deliveries: int) -> None:
    """Instructions per callback of each script, the server under callgrind."""
    with tempfile.TemporaryDirectory() as directory, callgrind_server(Path(directory)) as found:
        port, pid = found
        store = RedisDeliveries(redis.Redis(port=port), PREFIX)
        for i in range(deliveries):  # not measured
            record = DeliveryRecord(f"t{i:06d}", URL, URL[:21], CallbackEffect(), START + 1000)
            store.schedule(record)
        works: list[Work] = []

        def claim_all() -> None:
            while batch := store.claim(START + 1000, OWNER, CLAIM, 0):
                works.extend(batch)

        def renew_all() -> None:
            for k in range(0, len(works), TAKE):
                tokens = [work.token for work in works[k : k + TAKE]]
                if store.renew(tokens, OWNER) != set(tokens):
                    raise RuntimeError("a lease was lost")

        folder = Path(directory)
        counts = {
            "claim": instructions(folder, pid, claim_all, "claim"),
            "renew": instructions(folder, pid, renew_all, "renew"),
            "settle": instructions(folder, pid, partial(settle_all, store, works), "settle"),
        }
        delivered = [record.delivered for record in store.deliveries()]
        if delivered != [1] * deliveries:
            raise RuntimeError("not each delivered once")
        per = {name: count / deliveries for name, count in counts.items()}
        detail = ", ".join(f"{name} {count:,.0f}" for name, count in per.items())
        print(
            f"{deliveries} callbacks: redis-server ran {sum(per.values()):,.0f} instructions "
            f"per callback ({detail})"
        )


def main() -> int:
    """Run the measure `--repeat` times on one throwaway server."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--callgrind", action="store_true", help="count redis-server's instructions instead"
    )
    args = parser.parse_args()
    if args.callgrind:
        for _ in range(args.repeat):
            run_callgrind(args.deliveries)
        return 0
    with tempfile.TemporaryDirectory() as directory, redis_server(Path(directory)) as server:
        for _ in range(args.repeat):
            run(server.url, args.deliveries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
