"""The request journal in Redis: a capped list of JSON entries, newest last.

An entry is written after its request is answered, and a request's own
round trips are what a worker waits on; so entries are not sent alone:
each process keeps them a moment, and the next request's first step (the
gate's script, gate.py) carries them along. When no request comes along, a
flusher sends an entry that has waited `LINGER_S` (so within two lingers).
Reading the journal sends this process's kept entries first: what a process
answered, it reads. Another process's answers show within a few
milliseconds (longer only on a machine too busy to run the flusher).

Requests a process answered from what it holds (coherence.py, gate.py) are
counted in their key's window the same way: kept with the time they came
at, carried by the next script, or sent by the flusher.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

from ...errors import Unavailable
from ...journal import Entry, select

log = logging.getLogger("apixo_mock")

T = TypeVar("T")
Count = tuple[str, int]  # a request to count later: its key and the time it came at
LINGER_S = 0.002  # how long an entry waits for a request to carry it
CARRIED = 64  # entries one script carries at most
COUNTS_CARRIED = 256  # requests counted later that one script carries at most
_IDLE_ROUNDS = 500  # lingers with nothing kept before the flusher ends (1 s)

# A Lua function, shared with the gate's script: append entries, keep the last `size`.
JOURNAL_LUA = """
local function journal(list, size, first, entries)
  if #entries < first then return end
  redis.call('RPUSH', list, unpack(entries, first))
  redis.call('LTRIM', list, -tonumber(size), -1)
end
"""
# A Lua function, shared with the gate's script: count requests in their keys'
# windows, as `window_admit` (limits.py) counts one, from the args at `first`
# (`count_args`): the members' tag, the first serial, how many keys, then per
# key: the key, m, and m runs (a time, how many requests came at it). Each
# request is a member of its own, the tag and its serial. Returns the index after.
COUNT_LUA = """
local function count_later(window, index, args, first)
  local tag, serial, groups = args[first], tonumber(args[first + 1]), tonumber(args[first + 2])
  local i = first + 3
  for _ = 1, groups do
    local key, m = args[i], tonumber(args[i + 1])
    local scored, n = {}, 0
    for run = i + 2, i + 2 * m, 2 do
      local at = args[run]
      for _ = 1, tonumber(args[run + 1]) do
        scored[n + 1], scored[n + 2] = at, tag .. serial
        n, serial = n + 2, serial + 1
      end
    end
    redis.call('ZADD', window .. key, unpack(scored))
    redis.call('SADD', index, key)
    i = i + 2 + 2 * m
  end
  return i
end
"""
# KEYS: the list, the windows' index.
# ARGV: the size, the windows' prefix, the counts (`count_args`), then the entries.
_RECORD = (
    JOURNAL_LUA
    + COUNT_LUA
    + """
local after = count_later(ARGV[2], KEYS[2], ARGV, 3)
journal(KEYS[1], ARGV[1], after, ARGV)
"""
)


class RedisJournal:
    """The last `size` requests answered by any process sharing the prefix."""

    def __init__(
        self,
        client: Any,
        prefix: str,
        size: int = 1000,
        windows: tuple[str, str] = ("", ""),
        tag: Callable[[], str] = lambda: "",
    ) -> None:
        self._r = client
        self.key = prefix + "journal"  # written by the gate's script too
        self.size = size
        self._windows = windows  # the windows' prefix and index (limits.py)
        self._record = client.register_script(_RECORD)
        self._kept: deque[bytes] = deque()  # encoded entries not sent yet, oldest first
        self._counts: deque[Count] = deque()  # requests to count, oldest first
        self._tag = tag  # names this process's members in windows (its membership's id)
        self._serial = 0  # the next member's serial; `_serial_lock` hands out runs of them
        self._serial_lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        self._flusher_lock = threading.Lock()
        self._closed = threading.Event()

    def record(self, entry: Entry) -> None:
        """Keep one entry: sent with the next request's first step, or by the flusher."""
        if self.size <= 0:
            return
        self._kept.append(orjson.dumps(entry.fields()))
        self._flush_later()

    def count(self, key: str, at: int) -> None:
        """Count a request of `key` at `at` in its window later: carried, or sent by the flusher."""
        self._counts.append((key, at))
        if self._flusher is None:
            self._flush_later()

    def _flush_later(self) -> None:
        # Running: it sees what was just kept (as it ends it looks once more, unlocked).
        if self._flusher is not None:
            return
        with self._flusher_lock:
            if self._flusher is None and not self._closed.is_set():
                self._flusher = threading.Thread(
                    target=self._flush_soon, name="apixo-mock-journal", daemon=True
                )
                self._flusher.start()

    def take(self) -> list[bytes]:
        """Entries kept and not sent, oldest first (at most `CARRIED`), for a script to carry."""
        return _first_of(self._kept, CARRIED)

    def take_counts(self) -> list[Count]:
        """Requests to count, kept and not sent, oldest first (at most `COUNTS_CARRIED`)."""
        return _first_of(self._counts, COUNTS_CARRIED)

    def count_args(self, counts: Sequence[Count]) -> list[str | int]:
        """`counts` as `count_later` reads them, with serials of their own for their members.

        Requests of one key at one time go as one run: a polled key's requests come
        in bursts within a millisecond, and Redis names their members itself.
        """
        with self._serial_lock:  # request threads and the flusher both send counts
            first = self._serial
            self._serial += len(counts)
        by_key: dict[str, list[int]] = {}
        for key, at in counts:
            runs = by_key.get(key)
            if runs is None:
                by_key[key] = [at, 1]
            elif runs[-2] == at:
                runs[-1] += 1
            else:
                runs += (at, 1)
        args: list[str | int] = [self._tag(), first, len(by_key)]
        for key, runs in by_key.items():
            args += [key, len(runs) // 2, *runs]
        return args

    def put_back(self, entries: list[bytes], counts: Sequence[Count] = ()) -> None:
        """Entries and counts taken that did not reach Redis: first in line again."""
        self._kept.extendleft(reversed(entries))
        self._counts.extendleft(reversed(counts))

    def flush(self) -> None:
        """Send every entry and count kept, now."""
        while True:
            counts, entries = self.take_counts(), self.take()
            if not (counts or entries):
                return
            window, index = self._windows
            args = [self.size, window, *self.count_args(counts), *entries]
            try:
                self._record(keys=[self.key, index], args=args)
            except Unavailable:
                self.put_back(entries, counts)  # Redis is away: the flusher tries again
                raise

    def _flush_soon(self) -> None:
        # One thread for as long as requests keep coming (starting one per entry would
        # cost more than the round trip it saves). It sends only an entry that waited
        # a whole linger: under load the requests carry every entry, and it sends nothing.
        seen, idle = None, 0
        while not self._closed.wait(LINGER_S):
            first = self._first()
            if first is not None and first is seen:
                self._flush_logged()
                first = None
            seen = first
            idle = 0 if first is not None else idle + 1
            if idle >= _IDLE_ROUNDS:
                with self._flusher_lock:
                    ended = not (self._kept or self._counts)
                    if ended:
                        self._flusher = None
                if ended:
                    # Kept by a caller that saw this thread still running: start another.
                    if self._kept or self._counts:
                        self._flush_later()
                    return
                idle = 0
        with self._flusher_lock:
            self._flusher = None

    def _first(self) -> object | None:
        try:
            return self._kept[0]
        except IndexError:
            pass
        try:
            return self._counts[0]
        except IndexError:
            return None

    def _flush_logged(self) -> None:
        try:
            self.flush()
        except Unavailable:
            log.warning("the journal could not reach Redis; retrying")

    def close(self) -> None:
        """Send what is kept and stop the flusher."""
        self._closed.set()
        with self._flusher_lock:
            flusher = self._flusher
        if flusher is not None:
            flusher.join(timeout=5)
        try:
            self.flush()
        except Unavailable:
            log.warning("the journal's last %d entries could not reach Redis", len(self._kept))

    def entries(
        self,
        *,
        path: str | None = None,
        status: int | None = None,
        task_id: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Entries matching every filter given (path by prefix), oldest first."""
        self.flush()  # what this process answered is in what it reads
        entries = [Entry(*json.loads(raw)) for raw in self._r.lrange(self.key, 0, -1)]
        return select(entries, path=path, status=status, task_id=task_id, limit=limit)

    def clear(self) -> None:
        """Forget every entry."""
        self._kept.clear()
        self._counts.clear()
        self._r.unlink(self.key)


def _first_of(kept: deque[T], most: int) -> list[T]:
    """Up to `most` items popped from the left of `kept` (other threads may add meanwhile)."""
    taken: list[T] = []
    while len(taken) < most:
        try:
            taken.append(kept.popleft())
        except IndexError:
            break
    return taken
