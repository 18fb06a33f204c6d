"""Callback deliveries in Redis: one queue of due work for every process sharing it.

Due work waits in a sorted set by due time on the mock clock. A claim is one
Lua script: it moves the due items out of that set, turns them into works
(applying each delivery's effect as its first attempt falls due) and records
every work in an in-flight set with a lease expiry on the Redis server's own
clock, under the claiming dispatcher's name. Only the holder of a lease can
settle its work, and settling an attempt (counters, retry, attempt log) is
one script too; so each work is sent by one process. A process that dies
holding work loses the lease when it runs out, and the next claim by any
process takes the work again whole. The attempt log is a capped list.

The scripts are in delivery_scripts.py, with the key layout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, cast

import orjson
import redis

from ...callbacks.policy import Attempt, CallbackEffect, SendResult
from ...callbacks.records import DeliveryRecord, Send, Work
from ...config import CoreConfig
from . import delivery_scripts as scripts
from .script_pipe import ScriptPipe

if TYPE_CHECKING:
    from .. import Settling

DEFAULT_PREFIX: Final = "apixo-mock:"
_LEASE_MARGIN_MS: Final = 30_000  # beyond a send's timeout: a live sender never loses its lease
_GLOB_SPECIALS: Final = str.maketrans({c: "\\" + c for c in "*?[]\\"})


def redis_deliveries(
    client: redis.Redis, prefix: str = DEFAULT_PREFIX, config: CoreConfig | None = None
) -> RedisDeliveries:
    """The shared delivery store, its lease long enough for the configured send timeout."""
    timeout_s = (config or CoreConfig()).callback_timeout_s
    return RedisDeliveries(client, prefix, lease_ms=round(timeout_s * 1000) + _LEASE_MARGIN_MS)


class RedisDeliveries:
    """A `DeliveryStore` in Redis, shared by every dispatcher that uses the same prefix."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        lease_ms: int = 60_000,
        poll_s: float = 0.05,
        claim_limit: int = 256,
        log_size: int = 10_000,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._lease_ms = lease_ms  # per send in a work: a reordered batch sends several
        self.poll_s: float | None = poll_s  # other processes queue work this one hears nothing of
        self.claim_limit: int | None = claim_limit  # unsent work must not outlive its lease
        self._log_size = log_size
        self._local = threading.local()  # each sender thread's `ScriptPipe`
        self._scripts = {
            name: client.register_script(getattr(scripts, name))
            for name in (
                *("SCHEDULE", "RESCHEDULE", "REDELIVER", "CLAIM", "RENEW", "SETTLE"),
                "SETTLE_MANY",
            )
        }

    def schedule(self, delivery: DeliveryRecord) -> None:
        """Keep `delivery` (replacing the task's earlier one) and queue its start."""
        effect = delivery.effect
        self._run(
            "SCHEDULE",
            *(delivery.task_id, delivery.url, delivery.origin, _flag(effect.drop)),
            *(_int(effect.copies), _int(effect.delay_ms), _flag(effect.reorder)),
            *(str(delivery.due_ms), delivery.fault or ""),
        )

    def reschedule(self, task_id: str, due_ms: int) -> bool:
        """Move a not-yet-started delivery to `due_ms` (+ its delay)."""
        return bool(self._run("RESCHEDULE", task_id, str(due_ms)))

    def redeliver(self, task_id: str, now: int) -> bool:
        """Queue a fresh chain at `now`, for whichever process claims it."""
        return bool(self._run("REDELIVER", task_id, str(now)))

    def drop(self, task_id: str) -> bool:
        """Forget one delivery; its queued and claimed work goes stale."""
        pipe = self._client.pipeline()
        pipe.delete(self._key("cb:d:" + task_id))
        pipe.zrem(self._key("cb:order"), task_id)
        return bool(pipe.execute()[0])

    def claim(self, now: int, owner: str, limit: int, reorder_window_ms: int) -> list[Work]:
        """Expired leases and due work, up to `limit` works, leased to `owner` in one script."""
        args = (str(now), owner, str(limit), str(reorder_window_ms), str(self._lease_ms))
        flat = self._run("CLAIM", *args)
        return [_work(_text(flat[k]), flat[k + 1]) for k in range(0, len(flat), 2)]

    def renew(self, tokens: list[str], owner: str) -> set[str]:
        """Restart the leases `owner` still holds; the others were claimed again elsewhere."""
        if not tokens:
            return set()
        held = self._run("RENEW", owner, str(self._lease_ms), *tokens)
        return {_text(token) for token in held}

    def settle(
        self,
        work: Work,
        index: int,
        owner: str,
        result: SendResult,
        now: int,
        retry_due_ms: int | None,
    ) -> Attempt | None:
        """Record the attempt and queue its retry in one script, if `owner` still holds the work."""
        answer = self._run(
            "SETTLE", *self._settle_args(work, index, owner, result, now, retry_due_ms)
        )
        return _settled(work.sends[index], result, now, answer)

    def settle_later(
        self,
        work: Work,
        index: int,
        owner: str,
        result: SendResult,
        now: int,
        retry_due_ms: int | None,
    ) -> Callable[[], Attempt | None]:
        """`settle`'s script written to Redis now, on this thread's own connection.

        Its answer is read when the result is called, after the sender's next
        POSTs: the round trips overlap (script_pipe.py). The script is on its
        way when this returns, so a process killed during the next POST has
        this attempt recorded all the same: a connection closed with answers
        unread is reset, but the bytes sent before the reset reach Redis ahead
        of it, and Redis reads and runs them before it sees the reset.
        """
        args = self._settle_args(work, index, owner, result, now, retry_due_ms)
        answer = self._pipe().send(self._scripts["SETTLE"], [self._prefix, *args])

        send = work.sends[index]
        return lambda: _settled(send, result, now, answer())

    def settle_all_later(
        self, settles: Sequence[Settling], owner: str, now: int
    ) -> list[Callable[[], Attempt | None]]:
        """`settle_later` of several attempts in one script (SETTLE_MANY): one round trip and
        one script call, where a multiplexing sender's round had several answers."""
        if len(settles) == 1:
            work, index, result, retry_due_ms = settles[0]
            return [self.settle_later(work, index, owner, result, now, retry_due_ms)]
        args: list[str | bytes] = [self._prefix]
        for work, index, result, retry_due_ms in settles:
            args += self._settle_args(work, index, owner, result, now, retry_due_ms)
        answer = self._pipe().send(self._scripts["SETTLE_MANY"], args)

        def outcome(k: int) -> Callable[[], Attempt | None]:
            work, index, result, _ = settles[k]

            def read() -> Attempt | None:
                answers = answer()  # an error answer raises at the first read, None after
                return _settled(work.sends[index], result, now, answers[k] if answers else None)

            return read

        return [outcome(k) for k in range(len(settles))]

    def _settle_args(
        self,
        work: Work,
        index: int,
        owner: str,
        result: SendResult,
        now: int,
        retry_due_ms: int | None,
    ) -> tuple[str | bytes, ...]:
        send, last = work.sends[index], index == len(work.sends) - 1
        status, error = _opt(result.status), result.error or ""
        # The logged entry but for its attempt number and outcome, which SETTLE appends.
        entry = orjson.dumps(
            {
                "t": send.task_id,
                "u": send.url,
                "d": str(send.due_ms),
                "m": str(now),
                "s": status,
                "e": error,
                "l": repr(result.latency_ms),
            }
        )
        return (
            *(work.token, owner, _flag(last), send.task_id, str(send.incarnation)),
            *(str(send.attempt), _flag(result.ok), status, error, _opt(retry_due_ms)),
            *(str(self._log_size), entry[:-1] + b',"n":"'),
        )

    def _pipe(self) -> ScriptPipe:
        pipe: ScriptPipe | None = getattr(self._local, "pipe", None)
        if pipe is None:
            pipe = self._local.pipe = ScriptPipe(self._client)
        return pipe

    def has_due(self, now: int) -> bool:
        """Whether any queued work is due at `now`."""
        return bool(self._client.zcount(self._key("cb:due"), "-inf", now))

    def next_due_ms(self) -> int | None:
        """The earliest queued due time."""
        first = self._client.zrange(self._key("cb:due"), 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    def deliveries(self, task_id: str | None = None) -> list[DeliveryRecord]:
        """Every delivery (or the task's) in due order, then in order of first schedule."""
        listed: list[tuple[str, float]] = []
        if task_id is not None:
            order = self._client.zscore(self._key("cb:order"), task_id)
            listed = [] if order is None else [(task_id, float(order))]
        else:
            ranked = cast(
                "list[tuple[Any, float]]",
                self._client.zrange(self._key("cb:order"), 0, -1, withscores=True),
            )
            listed = [(_text(task), float(score)) for task, score in ranked]
        pipe = self._client.pipeline(transaction=False)
        for task, _ in listed:
            pipe.hgetall(self._key("cb:d:" + task))
        rows = [
            (record.due_ms, order, record)
            for (task, order), fields in zip(listed, pipe.execute(), strict=True)
            if fields and (record := _record(task, fields)) is not None
        ]
        rows.sort(key=lambda row: (row[0], row[1]))
        return [record for _, _, record in rows]

    def attempts(self, task_id: str) -> list[Attempt]:
        """The task's attempts in the shared log, oldest first."""
        return self.attempt_log().for_task(task_id)

    def pending_count(self) -> int:
        """Deliveries scheduled or delivering."""
        return sum(record.pending for record in self.deliveries())

    def clear(self) -> None:
        """Forget every delivery, queued work, lease and attempt under this prefix."""
        pattern = self._prefix.translate(_GLOB_SPECIALS) + "cb:*"
        batch: list[Any] = []
        for key in self._client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self._client.delete(*batch)
                batch.clear()
        if batch:
            self._client.delete(*batch)

    def attempt_log(self) -> RedisAttemptLog:
        """The shared attempt log as an `AttemptLogStore` (for the stores bundle)."""
        return RedisAttemptLog(self._client, self._key("cb:log"), self._log_size)

    def _key(self, name: str) -> str:
        return self._prefix + name

    def _run(self, script: str, *args: str | bytes) -> Any:
        return self._scripts[script](args=[self._prefix, *args])


class RedisAttemptLog:
    """The last `size` callback attempts in one capped Redis list, shared by every process."""

    def __init__(self, client: redis.Redis, key: str, size: int = 10_000) -> None:
        self._client = client
        self._key = key
        self._size = size

    def append(self, attempt: Attempt) -> None:
        """Log one attempt, dropping the oldest past the size."""
        entry = {
            "t": attempt.task_id,
            "u": attempt.url,
            "n": str(attempt.attempt),
            "d": str(attempt.due_ms),
            "m": str(attempt.time_ms),
            "s": _opt(attempt.status),
            "e": attempt.error or "",
            "l": repr(attempt.latency_ms),
            "o": attempt.outcome,
        }
        pipe = self._client.pipeline()
        pipe.rpush(self._key, json.dumps(entry))
        pipe.ltrim(self._key, -self._size, -1)
        pipe.execute()

    def for_task(self, task_id: str) -> list[Attempt]:
        """Every logged attempt for `task_id`, oldest first."""
        # The last `size`: the settle script lets the list grow a little past it between trims.
        kept = self._client.lrange(self._key, -self._size, -1)
        attempts = (_attempt(_text(raw)) for raw in kept)
        return [attempt for attempt in attempts if attempt.task_id == task_id]

    def clear(self) -> None:
        """Forget every attempt."""
        self._client.delete(self._key)


# -- encoding ---------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _int(value: Any) -> str:
    # A broken effect (a float count) is recorded as a fault; its number only has to parse.
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "1"


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _work(token: str, raw: str | bytes) -> Work:
    data = orjson.loads(raw)
    sends = [Send(s["t"], s["u"], int(s["i"]), int(s["a"]), int(s["d"])) for s in data["sends"]]
    return Work(token, data["lane"], tuple(sends))


def _settled(send: Send, result: SendResult, now: int, answer: Any) -> Attempt | None:
    """The attempt SETTLE logged, from its answer (outcome, number) and what the caller
    knows; None if it no longer counted. Nothing to decode: the answer is two words."""
    if not answer:
        return None
    outcome, number = answer
    return Attempt(
        *(send.task_id, send.url, int(number), send.due_ms, now),
        *(result.status, result.error or None, result.latency_ms, _text(outcome)),
    )


def _attempt(raw: str) -> Attempt:
    e = orjson.loads(raw)
    return Attempt(
        task_id=e["t"],
        url=e["u"],
        attempt=int(e["n"]),
        due_ms=int(e["d"]),
        time_ms=int(e["m"]),
        status=int(e["s"]) if e["s"] else None,
        error=e["e"] or None,
        latency_ms=float(e["l"]),
        outcome=e["o"],
    )


def _record(task_id: str, raw: dict[Any, Any]) -> DeliveryRecord | None:
    f = {_text(k): _text(v) for k, v in raw.items()}
    if "inc" not in f:
        return None  # dropped while listing
    effect = CallbackEffect(
        drop=f["drop"] == "1",
        copies=max(1, int(f["copies"])),
        delay_ms=int(f["delay"]),
        reorder=f["reorder"] == "1",
    )
    return DeliveryRecord(
        *(task_id, f["url"], f["origin"], effect, int(f["due"]), f.get("fault")),
        *(int(f["inc"]), int(f["gen"]), f["started"] == "1", f["dropped"] == "1"),
        *(int(f["active"]), int(f["wanted"]), int(f["epoch"]), int(f["pend"])),
        *(int(f["attempts"]), int(f["delivered"]), _maybe_int(f.get("next"))),
        *(_maybe_int(f.get("lstatus")), f.get("lerror") or None),
    )


def _maybe_int(value: str | None) -> int | None:
    return int(value) if value else None  # '' or no field: none
