"""The request gate on Redis: a request's first step is one script, so one round trip.

It checks the clock's state is the one this process assumed (else counts
nothing and returns the state, to try again), reads the active scenario's
version and the key's per-minute cap, counts the request in the key's
window (the same Lua function as `RedisWindows.admit`), and reads the task
a status request names. Before it, a status read made five round trips.

While this process is a live member (coherence.py), a request needs no
round trip at all if what it reads is held: the clock's state and the
scenario's version as last read, the task as last read, and a grant of the
key's window. A grant lets a process count up to `GRANT` requests of a key
later (carried with the journal, at the times they came), given only while
the key's window has `GRANT_MARGIN` requests of room and more, so the cap
stays exact: near it, every request is counted in Redis before its answer.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ...limits import WINDOW_MS, over_rpm
from ...tasks import Task
from .. import ClockReading
from ..steps import Entered
from .accounts import RedisAccounts
from .clock import RedisClockState, format_reading, parse_reading
from .coherence import Coherence
from .journal import COUNT_LUA, JOURNAL_LUA, RedisJournal
from .limits import WINDOW_LUA, RedisWindows
from .scenarios import RedisScenarioState
from .tasks import RedisTaskStore, decode_task

_RECENT = 4_096  # tasks kept decoded per process: the ones being polled
GRANT = 256  # requests of a key a process may count later, per grant
# Room a key's window must have for a grant (more with many members): a process's
# requests counted later are at most GRANT, sent within milliseconds, and a grant
# lives GRANT_LIFE_S, so only a rate far past a mock's (thousands of requests in
# that time) could fill the room before they are counted.
GRANT_MARGIN = 4_096
GRANT_LIFE_S = 0.1

# KEYS: clock, scenario version, the key's account, the defaults, its window,
#       the window counter, the window index, the journal, the members, [the task].
# ARGV: the assumed clock state, now, window ms, key, now - window, fallback rpm,
#       the SHA-1 of the task's record as this process last decoded it, or '',
#       the journal's size, the windows' prefix, the grant asked for (0: none),
#       the grant margin, the requests counted later (journal.py's `count_args`),
#       then the journal's entries of requests already answered (journal.py's `joined`).
# Returns {0, clock, version} when the clock moved, {1, clock, version, rpm,
# wait ms} past the cap, else {2, clock, version, rpm, task, granted} where task
# is the record, nil if none, or 1 if the record is still the one whose SHA-1 was
# given, and granted the requests this process may count later (0: none).
_ENTER = (
    WINDOW_LUA
    + JOURNAL_LUA
    + COUNT_LUA
    + """
local after = count_later(ARGV[9], KEYS[7], ARGV, 12)
journal(KEYS[8], ARGV[8], ARGV[after])
local clock = redis.call('GET', KEYS[1]) or '0,'
local version = redis.call('GET', KEYS[2]) or '0'
if clock ~= ARGV[1] then return {0, clock, version} end
local rpm = tonumber(redis.call('HGET', KEYS[3], 'r') or redis.call('HGET', KEYS[4], 'r')
                     or ARGV[6])
local wait = window_admit(KEYS[5], KEYS[6], KEYS[7], ARGV[4], ARGV[2], rpm,
                          tonumber(ARGV[3]), ARGV[5])
if wait >= 0 then return {1, clock, version, rpm, wait} end
local task = false
if KEYS[10] then
  task = redis.call('GET', KEYS[10])
  if task and ARGV[7] ~= '' and redis.sha1hex(task) == ARGV[7] then task = 1 end
end
local granted = 0
local want = tonumber(ARGV[10])
if want > 0 then
  local margin = math.max(tonumber(ARGV[11]), 4 * want * redis.call('ZCARD', KEYS[9]))
  if rpm - redis.call('ZCARD', KEYS[5]) >= margin then granted = want end
end
return {2, clock, version, rpm, task, granted}
"""
)


@dataclass(slots=True)
class _Grant:
    left: int  # requests this process may still count later
    until: float  # time.monotonic() past which the grant is void
    renewing: bool = False  # one thread is asking for the next grant


class RedisGate:
    """`RequestGate` over the Redis stores of one prefix (it reads their keys).

    A client polls a task's status many times: the tasks this process decoded
    last are kept (`_RECENT` of them) with their record's SHA-1, and Redis
    sends a record again only if it changed, so a polled task is neither sent
    nor decoded again, and a finished one's body is rendered once. It also
    carries the journal's entries of requests answered before (journal.py).
    While `coherence` says this process is a live member, a request whose reads
    are all held makes no round trip.
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
        coherence: Coherence,
    ) -> None:
        self._clock = clock
        self._scenarios = scenarios
        self._accounts = accounts
        self._windows = windows
        self._tasks = tasks
        self._journal = journal
        self._coherence = coherence
        self._enter = client.register_script(_ENTER)
        self._members = coherence.members_key
        # Held reads, each dropped when Redis names its key as written (`_dropped`).
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, tuple[str, Task, bool]] = OrderedDict()  # SHA-1, task, held
        self._view: tuple[ClockReading, int] | None = None  # clock state, scenario version
        self._grants: dict[str, _Grant] = {}
        self._view_keys = {clock.key.encode(), scenarios.version_key.encode()}
        self._tasks_key = tasks.epoch_key.encode()
        self._grants_keys = {accounts.caps_key.encode(), windows.epoch_key.encode()}
        coherence.listen(self._dropped)

    def enter(self, key: str, assumed: ClockReading, now: int, task_id: str | None) -> Entered:
        """Count a request of `key` at `now`, and read the task `task_id` names: one script.

        No script at all if this process holds every read and a grant of the key's window.
        """
        coherence = self._coherence
        moment = time.monotonic()
        if coherence.serving(moment):
            held = self._held(key, assumed, now, task_id, moment)
            if held is not None:
                return held
            return self._round_trip(key, assumed, now, task_id, coherence.generation)
        return self._round_trip(key, assumed, now, task_id, None)

    def _held(
        self, key: str, assumed: ClockReading, now: int, task_id: str | None, moment: float
    ) -> Entered | None:
        with self._lock:
            view = self._view
            if view is None or view[0] != assumed:
                return None
            grant = self._grants.get(key)
            if grant is None:
                return None
            if grant.left <= GRANT // 4:
                if grant.left <= 0:
                    return None
                if not grant.renewing:
                    # One thread asks for the next grant while the others use up this one:
                    # threads that all found it spent would each make a round trip.
                    grant.renewing = True
                    return None
            task = None
            if task_id:
                known = self._recent.get(task_id)
                if known is None or not known[2]:
                    return None
                task = known[1]
            if moment > grant.until:
                del self._grants[key]
                return None
            grant.left -= 1
        self._journal.count(key, now)
        return Entered(view[0], view[1], task=task)

    def _round_trip(
        self,
        key: str,
        assumed: ClockReading,
        now: int,
        task_id: str | None,
        generation: int | None,
    ) -> Entered:
        keys = [
            self._clock.key,
            self._scenarios.version_key,
            *self._accounts.cap_keys(key),
            *self._windows.keys(key),
            self._journal.key,
            self._members,
        ]
        known = None
        with self._lock:
            if task_id:
                keys.append(self._tasks.key_of(task_id))
                known = self._recent.get(task_id)
            grant = self._grants.get(key)
        spent = grant is None or grant.left <= 0 or grant.renewing
        want = GRANT if generation is not None and spent else 0
        args = [
            format_reading(assumed),
            now,
            WINDOW_MS,
            key,
            now - WINDOW_MS,
            self._accounts.fallback_rpm,
            known[0] if known is not None else "",
            self._journal.size,
            self._windows.window_prefix,
            want,
            GRANT_MARGIN,
        ]
        with self._journal.carrying() as carried:
            reply = self._enter(keys=keys, args=[*args, *carried])
        outcome, clock, version, *rest = reply
        reading, version = parse_reading(clock), int(version)
        if outcome == 1:
            rpm, wait_ms = rest
            raise over_rpm(int(rpm), int(wait_ms))
        with self._lock:
            # Held only if Redis named no key written since the script was sent.
            hold = generation is not None and generation == self._coherence.generation
            if hold:
                self._view = (reading, version)
            if outcome == 0:
                return Entered(reading, version, stale=True)
            granted = int(rest[2])
            if hold and granted:
                if len(self._grants) >= _RECENT:  # keys are the clients' to choose: bounded
                    self._grants.clear()
                self._grants[key] = _Grant(granted, time.monotonic() + GRANT_LIFE_S)
            data = rest[1]
            if data == 1 and known is not None:
                if hold:
                    self._recent[task_id] = (known[0], known[1], True)  # type: ignore[index]
                return Entered(reading, version, task=known[1])
        if not isinstance(data, bytes) or task_id is None:
            return Entered(reading, version)
        return Entered(reading, version, task=self._remember(task_id, data, generation))

    def _remember(self, task_id: str, data: bytes, generation: int | None) -> Task:
        task = decode_task(data)
        digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        with self._lock:
            hold = generation is not None and generation == self._coherence.generation
            self._recent[task_id] = (digest, task, hold)
            self._recent.move_to_end(task_id)
            while len(self._recent) > _RECENT:
                self._recent.popitem(last=False)
        return task

    def _dropped(self, names: list[bytes] | None) -> None:
        """Redis named keys as written (None: any may have been): drop what they held."""
        with self._lock:
            if names is None:
                self._view = None
                self._grants.clear()
                self._recent.clear()
                return
            for name in names:
                if name in self._view_keys:
                    self._view = None
                elif name == self._tasks_key:  # a task changed or went: hold none
                    for task_id, (digest, task, _) in self._recent.items():
                        self._recent[task_id] = (digest, task, False)
                elif name in self._grants_keys:
                    self._grants.clear()
