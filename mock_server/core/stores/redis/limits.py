"""Per-key throttling in Redis: the one-minute request window and the unfinished tasks."""

from __future__ import annotations

from typing import Any

from ...errors import RateLimited
from ...limits import WINDOW_MS, TaskFinished, over_rpm
from .fence import Fence, no_fence

# The window check as a Lua function, so the gate's script (gate.py) runs the same one.
# A request is counted if fewer than `rpm` fall in the window; returns -1 if
# counted, else the ms until the window has room. `cutoff` is now - window,
# passed exact (Lua formats big numbers lossily).
WINDOW_LUA = """
local function window_admit(times, counter, index, key, now, rpm, window, cutoff)
  redis.call('ZREMRANGEBYSCORE', times, '-inf', cutoff)
  local n = redis.call('ZCARD', times)
  if n < rpm then
    redis.call('ZADD', times, now, now .. ':' .. redis.call('INCR', counter))
    redis.call('SADD', index, key)
    return -1
  end
  if rpm <= 0 then return window end
  local oldest = redis.call('ZRANGE', times, n - rpm, n - rpm, 'WITHSCORES')
  return tonumber(oldest[2]) + window - tonumber(now)
end
"""

# KEYS: the key's window, the member counter, the index of keys.
# ARGV: now, rpm, window ms, key, now - window.
_ADMIT = (
    WINDOW_LUA
    + """
return window_admit(KEYS[1], KEYS[2], KEYS[3], ARGV[4], ARGV[1], tonumber(ARGV[2]),
                    tonumber(ARGV[3]), ARGV[5])
"""
)


class RedisWindows:
    """Each key's requests in the last minute (a sorted set by time); `admit` is one script."""

    def __init__(self, client: Any, prefix: str, fence: Fence = no_fence) -> None:
        self._r = client
        self._fence = fence
        self._window = prefix + "window:"
        self._counter = prefix + "windows:n"
        self._index = prefix + "windows"
        # Moved by `clear`: a process drops its grants of the windows (gate.py) when it moves.
        self.epoch_key = prefix + "windows:epoch"
        self._admit = client.register_script(_ADMIT)

    @property
    def window_prefix(self) -> str:
        """The prefix of every key's window (a key's window is this and the key)."""
        return self._window

    @property
    def carried(self) -> tuple[str, str]:
        """What a script counting requests later takes: the windows' prefix and index."""
        return (self._window, self._index)

    def keys(self, key: str) -> list[str]:
        """The Redis keys `window_admit` takes for `key`: its window, the counter, the index."""
        return [self._window + key, self._counter, self._index]

    def admit(self, key: str, now: int, rpm: int) -> None:
        """Count a request, or raise `RateLimited` (with Retry-After) past `rpm`."""
        args = [now, rpm, WINDOW_MS, key, now - WINDOW_MS]
        wait_ms = int(self._admit(keys=self.keys(key), args=args))
        if wait_ms >= 0:
            raise over_rpm(rpm, wait_ms)

    def used(self, key: str, now: int) -> int:
        """How many of `key`'s requests fall in the minute before `now` (changes nothing)."""
        return int(self._r.zcount(self._window + key, f"({now - WINDOW_MS}", "+inf"))

    def __len__(self) -> int:
        return int(self._r.scard(self._index))

    def clear(self) -> None:
        """Forget every request."""
        keys = [k.decode() for k in self._r.smembers(self._index)]
        pipe = self._r.pipeline(transaction=True)
        for start in range(0, len(keys), 500):
            pipe.unlink(*(self._window + k for k in keys[start : start + 500]))
        pipe.unlink(self._index, self._counter)
        pipe.incr(self.epoch_key)
        pipe.execute()
        self._fence()


class RedisUnfinished:
    """Each key's unfinished task ids (a set), and every known end (a sorted set by time).

    Called inside the admission transaction, like the memory store.
    """

    def __init__(self, client: Any, prefix: str) -> None:
        self._r = client
        self._open = prefix + "unfinished:"
        self._ends = prefix + "unfinished:ends"
        self._index = prefix + "unfinished"

    def keys(self, key: str) -> list[str]:
        """The key's unfinished ids, the index of keys, every known end."""
        return [self._open + key, self._index, self._ends]

    def add(self, key: str, task_id: str, done_at: int | None) -> None:
        """Track a new unfinished task (`done_at=None`: it never ends by itself)."""
        pipe = self._r.pipeline(transaction=True)
        pipe.sadd(self._open + key, task_id)
        pipe.sadd(self._index, key)
        if done_at is not None:
            pipe.zadd(self._ends, {_member(key, task_id): done_at})
        pipe.execute()

    def retime(self, key: str, task_id: str, done_at: int) -> None:
        """The task now ends at `done_at`."""
        self._r.zadd(self._ends, {_member(key, task_id): done_at})

    def settle(self, now: int, is_finished: TaskFinished) -> list[tuple[str, str]]:
        """Drop tasks that have ended by `now`; returns their (key, task_id) pairs."""
        due = self._r.zrangebyscore(self._ends, "-inf", now)
        if not due:
            return []
        pairs = [tuple(member.decode().split("\n", 1)) for member in due]
        pipe = self._r.pipeline(transaction=False)
        pipe.zrem(self._ends, *due)
        for task_id, key in pairs:
            pipe.sismember(self._open + key, task_id)
        still_open = pipe.execute()[1:]
        read_ahead = getattr(is_finished, "read_ahead", None)
        if read_ahead is not None:  # the tasks about to be judged, read in one round trip
            opened = zip(pairs, still_open, strict=True)
            read_ahead([task_id for (task_id, _key), is_open in opened if is_open])
        done = [
            (key, task_id)
            for (task_id, key), is_open in zip(pairs, still_open, strict=True)
            if is_open and is_finished(task_id, now)
        ]
        if not done:
            return []
        for key, task_id in done:
            pipe.srem(self._open + key, task_id)
        # Only a task this call took out of the set has ended here: even two
        # settles at once (a lease run out) never settle, or refund, one task twice.
        return [pair for pair, removed in zip(done, pipe.execute(), strict=True) if removed]

    def count(self, key: str) -> int:
        """Unfinished tasks of `key` as of the last `settle`."""
        return int(self._r.scard(self._open + key))

    def admit(self, key: str, cap: int, now: int | None = None) -> None:
        """Raise `RateLimited` if `key` already has `cap` unfinished tasks."""
        if self.count(key) < cap:
            return
        end = self._next_end(key) if now is not None else None
        wait_s = -(-(end - now) // 1000) if end is not None and now is not None and end > now else 1
        raise RateLimited(
            f"Rate limit exceeded: more than {cap} unfinished tasks", retry_after_s=wait_s
        )

    def _next_end(self, key: str) -> int | None:
        ids = [i.decode() for i in self._r.smembers(self._open + key)]
        scores = self._r.zmscore(self._ends, [_member(key, i) for i in ids]) if ids else []
        ends = [int(score) for score in scores if score is not None]
        return min(ends) if ends else None

    def clear(self) -> None:
        """Forget every task."""
        keys = [k.decode() for k in self._r.smembers(self._index)]
        pipe = self._r.pipeline(transaction=True)
        for start in range(0, len(keys), 500):
            pipe.unlink(*(self._open + k for k in keys[start : start + 500]))
        pipe.unlink(self._index, self._ends)
        pipe.execute()


def end_member(key: str, task_id: str) -> str:
    """A task's member in the set of ends."""
    return _member(key, task_id)


def _member(key: str, task_id: str) -> str:
    # A task id never holds a newline; the key comes first and may hold anything else.
    return f"{task_id}\n{key}"
