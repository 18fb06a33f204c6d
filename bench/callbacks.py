"""Callback delivery benchmark: how late and how fast the dispatcher delivers.

Loopback only, bounded, stops by itself. The receiver runs in another process
(bench/callback_receiver.py): granian by default, measured alone first so that
it is known not to be the bottleneck; `--receiver stdlib-1.1` or `stdlib-1.0`
is an ordinary Python `http.server` receiver instead (keep-alive, or closing
every connection), `--receiver all` runs all three. Then:

  raw sender  POST/s and CPU per POST of three ways to send (8 threads, no dispatcher),
              and of the dispatcher's: one thread keeping 4 POSTs in flight (post_all)
  spread      N callbacks due evenly over one second on a running clock: lateness
  burst       N callbacks due at the same instant on a running clock
  advance     N callbacks on a frozen clock, all made due by one clock.advance()

Lateness is when the sender had the receiver's 2xx minus the due time.

    .venv/bin/python bench/callbacks.py [--tasks 10000] [--senders 8] [--repeat 1]
        [--receiver granian|stdlib-1.1|stdlib-1.0|all]
"""

from __future__ import annotations

import argparse
import http.client
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import urllib3
from callback_receiver import KINDS, Kind, ReceiverProcess, measure

from mock_server.core.callbacks import (
    CallbackDispatcher,
    CallbackPolicy,
    CallbackSender,
    Multiplexing,
    Request,
    SendResult,
)
from mock_server.core.clock import MockClock
from mock_server.outbound import HttpCallbackSender

BODY = b'{"code":200,"message":"success","data":{"taskId":"task_bench","state":"success"}}'
HEADERS = {"Content-Type": "application/json", "User-Agent": "apixo-mock"}
LEAD_MS = 700  # everything is scheduled before the first callback falls due
DEADLINE_S = 60.0
RAW_SECONDS = 5.0  # a raw-sender measurement stops after this long, whatever is left
Due = Callable[[int, int, int], int]  # (now, index, count) -> due time


class Urllib3Sender:
    """The first alternative: urllib3's PoolManager with keep-alive."""

    def __init__(self, threads: int) -> None:
        self._pool = urllib3.PoolManager(maxsize=threads, block=False, retries=False)

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        started = time.perf_counter()
        try:
            response = self._pool.request(
                "POST", url, body=body, headers=dict(headers), timeout=timeout_s, redirect=False
            )
        except urllib3.exceptions.HTTPError as exc:
            return SendResult(None, str(exc), (time.perf_counter() - started) * 1000)
        return SendResult(response.status, None, (time.perf_counter() - started) * 1000)


class HttpConnectionSender:
    """The second alternative: one http.client.HTTPConnection per thread, kept alive."""

    def __init__(self) -> None:
        self._local = threading.local()

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        started = time.perf_counter()
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        parts = urlsplit(url)
        if connection is None:
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=timeout_s
            )
            self._local.connection = connection
        connection.request("POST", parts.path, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.read()
        return SendResult(response.status, None, (time.perf_counter() - started) * 1000)


class Recorder:
    """Wraps a sender; notes when each POST got its 2xx (mock clock)."""

    def __init__(self, inner: CallbackSender, clock: MockClock, expected: int) -> None:
        self._inner, self._clock, self._expected = inner, clock, expected
        self._cond = threading.Condition()
        self.finished: dict[str, int] = {}

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> SendResult:
        result = self._inner.post(url, body, headers, timeout_s)
        self._note(url, result)
        return result

    def post_all(
        self,
        requests: Sequence[Callable[[], Request]],
        timeout_s: float,
        done: Callable[[int, SendResult], None],
        width: int,
        flush: Callable[[], None] = lambda: None,
    ) -> None:
        """The inner sender's own `post_all` (the dispatcher's path with HttpCallbackSender)."""

        urls: dict[int, str] = {}

        def making(index: int) -> Callable[[], Request]:
            def make() -> Request:
                request = requests[index]()
                urls[index] = request[0]
                return request

            return make

        def noted(index: int, result: SendResult) -> None:
            self._note(urls.get(index, ""), result)
            done(index, result)

        made = [making(index) for index in range(len(requests))]
        cast("Multiplexing", self._inner).post_all(made, timeout_s, noted, width, flush)

    def _note(self, url: str, result: SendResult) -> None:
        now = self._clock.now_ms()
        with self._cond:
            if result.ok:
                self.finished[url] = now
            if len(self.finished) >= self._expected:
                self._cond.notify_all()  # once at the end: a wake-up per POST costs the senders

    def wait_all(self) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.finished) >= self._expected, DEADLINE_S)


@dataclass(frozen=True, slots=True)
class Run:
    """One scenario's outcome."""

    delivered: int
    lateness_ms: list[int]
    elapsed_s: float  # first due time (or the advance) to the last 2xx

    def percentile(self, q: float) -> int:
        ordered = sorted(self.lateness_ms) or [0]
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def raw_rate(sender: CallbackSender, url: str, threads: int, posts: int) -> tuple[float, float]:
    """POST/s and CPU microseconds per POST of `threads` threads sharing `sender`.

    Each thread sends its share of `posts`, or stops after RAW_SECONDS (a slow
    receiver would otherwise take minutes).
    """
    per_thread = posts // threads
    counts = [0] * threads
    deadline = time.monotonic() + RAW_SECONDS

    def loop(slot: int) -> None:
        while counts[slot] < per_thread and time.monotonic() < deadline:
            if sender.post(url, BODY, HEADERS, 10.0).ok:
                counts[slot] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started, cpu = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(DEADLINE_S)
    done = max(1, sum(counts))
    return done / (time.perf_counter() - started), (time.process_time() - cpu) * 1e6 / done


def raw_all_rate(url: str, width: int, posts: int) -> tuple[float, float]:
    """POST/s and CPU microseconds per POST of one thread keeping `width` POSTs in flight
    (`HttpCallbackSender.post_all`), in rounds of 64."""
    sender, delivered = HttpCallbackSender(), [0]
    deadline = time.monotonic() + RAW_SECONDS

    def done(index: int, result: SendResult) -> None:
        delivered[0] += result.ok

    started, cpu = time.perf_counter(), time.process_time()
    while delivered[0] < posts and time.monotonic() < deadline:
        sender.post_all([lambda: (url, BODY, HEADERS)] * 64, 10.0, done, width)
    sender.abort()
    done_ = max(1, delivered[0])
    return done_ / (time.perf_counter() - started), (time.process_time() - cpu) * 1e6 / done_


def deliver(base_url: str, tasks: int, senders: int, due: Due, *, frozen: bool) -> Run:
    """Schedule `tasks` callbacks due at `due(now, i, tasks)`; wait until all are delivered."""
    clock = MockClock(frozen=frozen)
    recorder = Recorder(HttpCallbackSender(), clock, tasks)
    policy = CallbackPolicy(senders=senders, timeout_s=10.0)
    with CallbackDispatcher(clock, recorder, policy) as dispatcher:
        now = clock.now_ms()
        dues = {f"{base_url}/cb/{i}": due(now, i, tasks) for i in range(tasks)}
        for i, (url, due_ms) in enumerate(dues.items()):
            dispatcher.schedule(f"task_{i}", url, due_ms, lambda: BODY)
        started = time.perf_counter()
        if frozen:
            clock.advance(max(dues.values()) - now)
        recorder.wait_all()
        elapsed = time.perf_counter() - started
        delivered = len(dispatcher.deliveries(outcome="delivered"))
    finished = recorder.finished
    lateness = [finished[url] - due_ms for url, due_ms in dues.items() if url in finished]
    if not frozen:
        elapsed = (max(finished.values(), default=0) - min(dues.values())) / 1000
    return Run(delivered, lateness, elapsed)


def spread(now: int, i: int, n: int) -> int:
    return now + LEAD_MS + i * 1000 // n


def burst(now: int, i: int, n: int) -> int:
    return now + LEAD_MS


def advance(now: int, i: int, n: int) -> int:
    return now + 1000


def report_senders(url: str, posts: int) -> None:
    print(f"{'raw sender, 8 threads':<46} {'POST/s':>8} {'CPU/POST':>9}")
    senders: list[tuple[str, CallbackSender]] = [
        ("urllib3 PoolManager", Urllib3Sender(8)),
        ("http.client HTTPConnection", HttpConnectionSender()),
        ("HttpCallbackSender (sendall + status reader)", HttpCallbackSender()),
    ]
    for name, sender in senders:
        rate, cpu_us = raw_rate(sender, url, 8, posts)
        print(f"  {name:<44} {rate:>8,.0f} {cpu_us:>6.0f} us")
    rate, cpu_us = raw_all_rate(url, 4, posts)
    name = "HttpCallbackSender.post_all, 1 thread, 4 at once"
    print(f"  {name:<44} {rate:>8,.0f} {cpu_us:>6.0f} us")


def report_scenarios(url: str, tasks: int, senders: int) -> None:
    print(
        f"\n{'scenario':<30} {'delivered':>9} {'p50 late':>9} {'p99 late':>9} {'max late':>9}",
        end="",
    )
    print(f" {'last':>7} {'rate/s':>7}  target")
    for name, due, frozen, target in [
        (f"spread: {tasks:,} over 1 s", spread, False, "p99 <= 250 ms"),
        (f"burst: {tasks:,} at once", burst, False, "all within 2 s"),
        (f"advance: {tasks:,}, frozen", advance, True, "all within 2 s"),
    ]:
        run = deliver(url, tasks, senders, due, frozen=frozen)
        rate = run.delivered / max(run.elapsed_s, 1e-9)
        print(
            f"{name:<30} {run.delivered:>9,} {run.percentile(0.5):>6} ms"
            f" {run.percentile(0.99):>6} ms {max(run.lateness_ms, default=0):>6} ms"
            f" {run.elapsed_s:>5.2f} s {rate:>7,.0f}  {target}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=8, help="CallbackPolicy.senders")
    parser.add_argument("--workers", type=int, default=1, help="granian worker processes")
    parser.add_argument("--repeat", type=int, default=1, help="run the scenarios this often")
    parser.add_argument("--receiver", choices=[*KINDS, "all"], default="granian")
    args = parser.parse_args()
    kinds: tuple[Kind, ...] = KINDS if args.receiver == "all" else (args.receiver,)
    for kind in kinds:
        with ReceiverProcess(workers=args.workers, kind=kind) as receiver:
            alone = measure(receiver.url, seconds=2.0, processes=2, threads=4)
            print(f"\n== receiver {kind} alone (http.client, 2 x 4 clients): {alone:,.0f} req/s\n")
            report_senders(receiver.url + "/cb", 2 * args.tasks)
            for _ in range(args.repeat):
                report_scenarios(receiver.url, args.tasks, args.senders)


if __name__ == "__main__":
    main()
