"""The request gate on Redis: a request's first step is one script, so one round trip.

It checks the clock's state is the one this process assumed (else counts
nothing and returns the state, to try again), reads the active scenario's
version and the key's per-minute cap, counts the request in the key's
window (the same Lua function as `RedisWindows.admit`), and reads the task
a status request names. Before it, a status read made five round trips.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from ...errors import Unavailable
from ...limits import WINDOW_MS, over_rpm
from ...tasks import Task
from .. import ClockReading
from ..steps import Entered
from .accounts import RedisAccounts
from .clock import RedisClockState, format_reading, parse_reading
from .journal import JOURNAL_LUA, RedisJournal
from .limits import WINDOW_LUA, RedisWindows
from .scenarios import RedisScenarioState
from .tasks import RedisTaskStore, decode_task

_RECENT = 4_096  # tasks kept decoded per process: the ones being polled

# KEYS: clock, scenario version, the key's account, the defaults, its window,
#       the window counter, the window index, the journal, [the task].
# ARGV: the assumed clock state, now, window ms, key, now - window, fallback rpm,
#       the SHA-1 of the task's record as this process last decoded it, or '',
#       the journal's size, then journal entries of requests already answered.
# Returns {0, clock, version} when the clock moved, {1, clock, version, rpm,
# wait ms} past the cap, else {2, clock, version, rpm, task} where task is the
# record, nil if none, or 1 if the record is still the one whose SHA-1 was given.
_ENTER = (
    WINDOW_LUA
    + JOURNAL_LUA
    + """
journal(KEYS[8], ARGV[8], 9, ARGV)
local clock = redis.call('GET', KEYS[1]) or '0,'
local version = redis.call('GET', KEYS[2]) or '0'
if clock ~= ARGV[1] then return {0, clock, version} end
local rpm = tonumber(redis.call('HGET', KEYS[3], 'r') or redis.call('HGET', KEYS[4], 'r')
                     or ARGV[6])
local wait = window_admit(KEYS[5], KEYS[6], KEYS[7], ARGV[4], ARGV[2], rpm,
                          tonumber(ARGV[3]), ARGV[5])
if wait >= 0 then return {1, clock, version, rpm, wait} end
local task = false
if KEYS[9] then
  task = redis.call('GET', KEYS[9])
  if task and ARGV[7] ~= '' and redis.sha1hex(task) == ARGV[7] then task = 1 end
end
return {2, clock, version, rpm, task}
"""
)


class RedisGate:
    """`RequestGate` over the Redis stores of one prefix (it reads their keys).

    A client polls a task's status many times: the tasks this process decoded
    last are kept (`_RECENT` of them) with their record's SHA-1, and Redis
    sends a record again only if it changed, so a polled task is neither sent
    nor decoded again, and a finished one's body is rendered once. It also
    carries the journal's entries of requests answered before (journal.py).
    """

    def __init__(
        self,
        client: Any,
        clock: RedisClockState,
        scenarios: RedisScenarioState,
        accounts: RedisAccounts,
        windows: RedisWindows,
        tasks: RedisTaskStore,
        journal: RedisJournal,
    ) -> None:
        self._clock = clock
        self._scenarios = scenarios
        self._accounts = accounts
        self._windows = windows
        self._tasks = tasks
        self._journal = journal
        self._enter = client.register_script(_ENTER)
        self._recent: OrderedDict[str, tuple[str, Task]] = OrderedDict()
        self._recent_lock = threading.Lock()

    def enter(self, key: str, assumed: ClockReading, now: int, task_id: str | None) -> Entered:
        """Count a request of `key` at `now`, and read the task `task_id` names: one script."""
        keys = [
            self._clock.key,
            self._scenarios.version_key,
            *self._accounts.cap_keys(key),
            *self._windows.keys(key),
            self._journal.key,
        ]
        known = None
        if task_id:
            keys.append(self._tasks.key_of(task_id))
            with self._recent_lock:
                known = self._recent.get(task_id)
        args = [
            format_reading(assumed),
            now,
            WINDOW_MS,
            key,
            now - WINDOW_MS,
            self._accounts.fallback_rpm,
            known[0] if known is not None else "",
            self._journal.size,
        ]
        carried = self._journal.take()
        try:
            outcome, clock, version, *rest = self._enter(keys=keys, args=args + carried)
        except Unavailable:
            self._journal.put_back(carried)
            raise
        reading, version = parse_reading(clock), int(version)
        if outcome == 0:
            return Entered(reading, version, stale=True)
        if outcome == 1:
            rpm, wait_ms = rest
            raise over_rpm(int(rpm), int(wait_ms))
        data = rest[1] if len(rest) > 1 else None
        if data == 1 and known is not None:
            return Entered(reading, version, task=known[1])
        if not isinstance(data, bytes) or task_id is None:
            return Entered(reading, version)
        return Entered(reading, version, task=self._remember(task_id, data))

    def _remember(self, task_id: str, data: bytes) -> Task:
        task = decode_task(data)
        digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        with self._recent_lock:
            self._recent[task_id] = (digest, task)
            self._recent.move_to_end(task_id)
            while len(self._recent) > _RECENT:
                self._recent.popitem(last=False)
        return task
