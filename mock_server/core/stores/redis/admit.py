"""A submit's admission on Redis: one script to look, one to commit, under the admission lock.

`look` reads whether any task may have ended (settle first), whether any
retired task is past the count or age (evict), the key's caps, balance and
unfinished count, and the last sequence. `commit` checks the id is free and
the balance enough, then charges, keeps the task and counts it unfinished:
all or nothing. Before, the same admission made nine round trips.
"""

from __future__ import annotations

from typing import Any

from ...errors import InsufficientCredits
from ...tasks import Task
from ..steps import Outlook
from .accounts import ACCOUNT_LUA, RedisAccounts
from .codec import Encoder
from .limits import RedisUnfinished, end_member
from .tasks import RedisTaskStore

# What admission reads of a key, as a Lua function: the look's one script, and the
# reply of a commit that commits nothing. `oldest` is now - max age or '', `kept`
# the max kept or '', `fallback` the default balance while no defaults are written.
_OUTLOOK_LUA = """
local function outlook(ends, retired, account, defaults, own, seq, now, oldest, kept, fallback)
  local due = redis.call('ZCOUNT', ends, '-inf', now)
  local old, over = 0, 0
  if oldest ~= '' then old = redis.call('ZCOUNT', retired, '-inf', oldest) end
  if kept ~= '' then over = redis.call('ZCARD', retired) - tonumber(kept) end
  local caps = redis.call('HMGET', account, 'r', 'u', 'b')
  local shared = redis.call('HMGET', defaults, 'r', 'u', 'b')
  local balance = caps[3] or shared[3] or fallback
  return {due, old, over, redis.call('SCARD', own), redis.call('GET', seq) or '0', balance,
          caps[1], caps[2], shared[1], shared[2]}
end
"""
# KEYS: ends, retired, the key's account, the defaults, the key's unfinished, the sequence.
# ARGV: now, now - max age or '', max kept or '', the fallback balance.
_LOOK = (
    _OUTLOOK_LUA
    + """
return outlook(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[1], ARGV[2], ARGV[3],
               ARGV[4])
"""
)

# KEYS: account, accounts index, defaults, opened counter, task, task ids, sequence,
#       the key's unfinished, the unfinished index, ends, retired.
# ARGV: key, micros, fallback balance, -micros, record, task id, sequence,
#       member in ends, done at or '', the last sequence looked at or '', then for a
#       checked commit (else ''): now, now - max age or '', max kept or '', the
#       settle batch, the fallback unfinished cap.
# Returns the outlook (`_OUTLOOK_LUA`) if a task was admitted since that sequence
# or a checked commit must leave it to the lock, -1 if the id is taken, 0 if the
# balance is short, else 1.
_COMMIT = (
    ACCOUNT_LUA
    + _OUTLOOK_LUA
    + """
local function look()
  return outlook(KEYS[10], KEYS[11], KEYS[1], KEYS[3], KEYS[8], KEYS[7], ARGV[11], ARGV[12],
                 ARGV[13], ARGV[3])
end
local last = redis.call('GET', KEYS[7]) or '0'
if ARGV[10] ~= '' and last ~= ARGV[10] then return look() end
local count, account = -1, nil  -- the key's unfinished count and account fields, if read
if ARGV[11] ~= '' then
  if redis.call('ZCOUNT', KEYS[10], '-inf', ARGV[11]) >= tonumber(ARGV[14]) then return look() end
  if ARGV[12] ~= '' and redis.call('ZCOUNT', KEYS[11], '-inf', ARGV[12]) > 0 then
    return look()
  end
  if ARGV[13] ~= '' and redis.call('ZCARD', KEYS[11]) > tonumber(ARGV[13]) then return look() end
  account = redis.call('HMGET', KEYS[1], 'u', 'b')
  local cap = account[1] or redis.call('HGET', KEYS[3], 'u') or ARGV[15]
  count = redis.call('SCARD', KEYS[8])
  if count >= tonumber(cap) then return look() end
end
if redis.call('EXISTS', KEYS[5]) == 1 then return -1 end
local balance
if account then
  balance = opened_with(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[3], account[2])
else
  balance = open_account(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[3])
end
if not take(KEYS[1], ARGV[2], ARGV[4], balance) then return 0 end
redis.call('SET', KEYS[5], ARGV[5])
redis.call('ZADD', KEYS[6], ARGV[7], ARGV[6])
if tonumber(ARGV[7]) > tonumber(last) then redis.call('SET', KEYS[7], ARGV[7]) end
redis.call('SADD', KEYS[8], ARGV[6])
-- A key with unfinished tasks is in the index already (both are written, and cleared, together).
if count <= 0 then redis.call('SADD', KEYS[9], ARGV[1]) end
if ARGV[9] ~= '' then redis.call('ZADD', KEYS[10], ARGV[9], ARGV[8]) end
return 1
"""
)


class RedisAdmissionSteps:
    """`AdmissionSteps` over the Redis stores of one prefix (it reads their keys)."""

    lockless = True  # each step is one script, and a commit checks nothing came between

    def __init__(
        self,
        client: Any,
        accounts: RedisAccounts,
        tasks: RedisTaskStore,
        unfinished: RedisUnfinished,
    ) -> None:
        self._accounts = accounts
        self._tasks = tasks
        self._unfinished = unfinished
        self._look = client.register_script(_LOOK)
        self._commit = client.register_script(_COMMIT)
        self._encoder = Encoder()
        # A guess to build the next task on, checked by the commit (which says when it
        # was wrong): one plain attribute, written whole by whichever thread saw last.
        self._known: int | None = None

    def look(self, key: str, now: int) -> Outlook:
        """Due ends, evictable tasks, the key's caps and count, the last sequence: one script."""
        own, _index, ends = self._unfinished.keys(key)
        _ids, sequence, retired = self._tasks.index_keys
        account, _, defaults, _ = self._accounts.money_keys(key)
        keys = [ends, retired, account, defaults, own, sequence]
        args = [*self._window_args(now), self._accounts.fallback_balance]
        return self._outlook(self._look(keys=keys, args=args))

    def known_sequence(self) -> int | None:
        """The last sequence a look or a commit of this process saw (None: none yet)."""
        return self._known

    def commit(self, task: Task, insufficient_status: int, after: int | None = None) -> bool:
        """Charge, keep and count `task`, or change nothing: one script."""
        reply = self._run_commit(task, insufficient_status, after, [])
        if isinstance(reply, list):
            self._outlook(reply)
            return False
        return True

    def commit_checked(
        self, task: Task, insufficient_status: int, after: int, now: int, settle_batch: int
    ) -> Outlook | None:
        """Commit unless admission must look again, then what it would see: one script."""
        checks = [*self._window_args(now), settle_batch, self._accounts.fallback_max_unfinished]
        reply = self._run_commit(task, insufficient_status, after, checks)
        return self._outlook(reply) if isinstance(reply, list) else None

    def _window_args(self, now: int) -> list[int | str]:
        """What `outlook` takes of the time: now, now - max age or '', max kept or ''."""
        max_kept, ttl_ms = self._tasks.kept
        return [now, now - ttl_ms if ttl_ms else "", max_kept or ""]

    def _outlook(self, reply: list[Any]) -> Outlook:
        due, old, over, count, last, balance, *caps = reply
        self._known = int(last)
        return Outlook(
            due=int(due),
            evictable=old > 0 or over > 0,
            limits=self._accounts.limits_of(caps[:2], caps[2:]),
            unfinished=int(count),
            last_sequence=self._known,
            balance_micros=int(balance),
        )

    def _run_commit(
        self, task: Task, insufficient_status: int, after: int | None, checks: list[int | str]
    ) -> Any:
        """The commit script's reply: the outlook (a list) if it committed nothing, else 1."""
        key, micros, done_at = task.key, task.charge_micros, task.timeline.done_at
        ids, sequence, retired = self._tasks.index_keys
        keys = [
            *self._accounts.money_keys(key),
            self._tasks.key_of(task.task_id),
            ids,
            sequence,
            *self._unfinished.keys(key),
            retired,
        ]
        args = [
            key,
            micros,
            self._accounts.fallback_balance,
            -micros,
            self._encoder.dumps(task),
            task.task_id,
            task.sequence,
            end_member(key, task.task_id),
            "" if done_at is None else done_at,
            "" if after is None else after,
            *(checks or ["", "", "", "", ""]),
        ]
        reply = self._commit(keys=keys, args=args)
        if reply == -1:
            raise KeyError(f"duplicate taskId {task.task_id}")
        if reply == 0:
            raise InsufficientCredits(status=insufficient_status)
        if not isinstance(reply, list):
            self._known = task.sequence
        return reply
