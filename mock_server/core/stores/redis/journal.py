"""The request journal in Redis: a capped list of JSON entries, newest last.

An entry is written after its request is answered, and a request's own
round trips are what a worker waits on; so entries are not sent alone:
each process keeps them a moment, and the next request's first step (the
gate's script, gate.py) carries them along. When no request comes along, a
flusher sends an entry that has waited `LINGER_S` (so within two lingers).

Reading the journal is exact all the same: the read fences (coherence.py),
and every live process sends what it kept before it acknowledges, so the
read shows every request any of them answered before it. A process that
is not a member (a Redis refusing client tracking) shows its answers
within two lingers.

Requests a process answered from what it holds (coherence.py, gate.py) are
counted in their key's window the same way: kept with the time they came
at, carried by the next script, or sent by the flusher.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

import orjson

from ...errors import Unavailable
from ...journal import Entry, select

log = logging.getLogger("apixo_mock")

T = TypeVar("T")
Count = tuple[str, int]  # a request to count later: its key and the time it came at


class Carried(NamedTuple):
    """What one script carries: counts and entries, and the ticket that keeps them in flight."""

    ticket: int
    counts: list[Count]
    entries: list[bytes]


# How long an entry waits for a request to carry it. Readers never wait for it (they
# fence); a longer linger sends more entries per script, fewer scripts per second.
LINGER_S = 0.02
CARRIED = 256  # entries one script carries at most
COUNTS_CARRIED = 1024  # requests counted later that one script carries at most
SYNC_WAIT_S = 5.0  # how long a sync waits for scripts in flight (each is one round trip)
_IDLE_S = 1.0  # how long the flusher waits with nothing kept before it ends

# A Lua function, shared with the gate's script: append the entries that `joined`
# (below) put in one argument, keep the last `size`. One argument for them all:
# a client packs a command's arguments one by one, at a cost per argument.
JOURNAL_LUA = """
local function journal(list, size, joined)
  if joined == nil or joined == '' then return end
  local entries = {}
  for entry in string.gmatch(joined, '[^\\n]+') do entries[#entries + 1] = entry end
  redis.call('RPUSH', list, unpack(entries))
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
# ARGV: the size, the windows' prefix, the counts (`count_args`), the entries (`joined`).
_RECORD = (
    JOURNAL_LUA
    + COUNT_LUA
    + """
local after = count_later(ARGV[2], KEYS[2], ARGV, 3)
journal(KEYS[1], ARGV[1], ARGV[after])
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
        gather: Callable[[], None] = lambda: None,
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
        self._gather = gather  # makes every live process send what it kept (a fence)
        # Takes whose script has not answered yet: a sync waits for the ones it found.
        self._carrying = threading.Condition()
        self._in_flight: set[int] = set()
        self._tickets = 0
        self._flusher: threading.Thread | None = None
        self._flusher_lock = threading.Lock()
        self._closed = threading.Event()
        self._unreachable = False  # the flusher's last try failed: said once, not per try

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

    def take(self) -> Carried:
        """Counts and entries kept and not sent, oldest first, for one script to carry.

        At most `COUNTS_CARRIED` and `CARRIED`. The caller hands them back to `carried`
        (sent or not) once the script answered: until then they are in flight.
        """
        with self._carrying:  # in flight before they leave the queues: a sync sees them
            ticket = self._tickets
            self._tickets += 1
            self._in_flight.add(ticket)
        counts = _first_of(self._counts, COUNTS_CARRIED)
        return Carried(ticket, counts, _first_of(self._kept, CARRIED))

    def carried(self, taken: Carried, *, again: bool = False) -> None:
        """A take's script is done; `again`: it did not reach Redis, its items go first in line."""
        if again:
            self._kept.extendleft(reversed(taken.entries))
            self._counts.extendleft(reversed(taken.counts))
        with self._carrying:
            self._in_flight.discard(taken.ticket)
            self._carrying.notify_all()

    def sync(self) -> None:
        """Return once everything this process kept before the call is in Redis.

        Sends what is kept, waits (bounded) for scripts already carrying some, and
        sends what those that failed gave back.
        """
        self.flush()
        with self._carrying:
            before = set(self._in_flight)
            self._carrying.wait_for(lambda: before.isdisjoint(self._in_flight), SYNC_WAIT_S)
        self.flush()

    @contextmanager
    def carrying(self) -> Iterator[list[str | int | bytes]]:
        """The args one script carries: `count_args`, then the `joined` entries.

        They are in flight until the block ends, and first in line again if it
        raised `Unavailable`.
        """
        taken, again = self.take(), False
        try:
            yield [*self.count_args(taken.counts), joined(taken.entries)]
        except Unavailable:
            again = True  # Redis is away: whoever sends next takes them
            raise
        finally:
            self.carried(taken, again=again)

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

    def flush(self) -> None:
        """Send every entry and count kept, now."""
        window, index = self._windows
        while self._kept or self._counts:
            with self.carrying() as carried:
                self._record(keys=[self.key, index], args=[self.size, window, *carried])

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
            if idle * LINGER_S >= _IDLE_S:
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
        # Said when Redis goes away and when it is back, not at every try (every linger).
        try:
            self.flush()
        except Unavailable:
            if not self._unreachable:
                self._unreachable = True
                log.warning("the journal could not reach Redis; retrying until it can")
            return
        if self._unreachable:
            self._unreachable = False
            log.warning("the journal reached Redis again; what it kept is sent")

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
        """Entries matching every filter given (path by prefix), oldest first.

        Every request a live process sharing the prefix answered before the call is
        in them: each sends what it kept first.
        """
        self._gather()
        self.sync()  # this process's own, also when it is not a member
        entries = [Entry(*json.loads(raw)) for raw in self._r.lrange(self.key, 0, -1)]
        return select(entries, path=path, status=status, task_id=task_id, limit=limit)

    def clear(self) -> None:
        """Forget every entry."""
        self._kept.clear()
        self._counts.clear()
        self._r.unlink(self.key)


def joined(entries: list[bytes]) -> bytes:
    """Encoded entries as one argument for `journal` (JSON has no raw newline to split on)."""
    return b"\n".join(entries)


def _first_of(kept: deque[T], most: int) -> list[T]:
    """Up to `most` items popped from the left of `kept` (other threads may add meanwhile)."""
    taken: list[T] = []
    pop = kept.popleft
    try:
        for _ in range(min(most, len(kept))):
            taken.append(pop())
    except IndexError:  # another thread took the rest
        pass
    return taken
