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
from .codec import dumps
from .limits import RedisUnfinished, end_member
from .tasks import TASK_LUA, RedisTaskStore

# KEYS: ends, retired, the key's account, the defaults, the key's unfinished, the sequence.
# ARGV: now, now - max age or '', max kept or '', the fallback balance.
_LOOK = """
local due = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1])
local old, over = 0, 0
if ARGV[2] ~= '' then old = redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[2]) end
if ARGV[3] ~= '' then over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3]) end
local own = redis.call('HMGET', KEYS[3], 'r', 'u', 'b')
local defaults = redis.call('HMGET', KEYS[4], 'r', 'u', 'b')
local balance = own[3] or defaults[3] or ARGV[4]
return {due, old, over, redis.call('SCARD', KEYS[5]), redis.call('GET', KEYS[6]) or '0',
        balance, own[1], own[2], defaults[1], defaults[2]}
"""

# KEYS: account, accounts index, defaults, opened counter, task, task ids, sequence,
#       the key's unfinished, the unfinished index, ends.
# ARGV: key, micros, fallback balance, -micros, record, task id, sequence,
#       member in ends, done at or '', the last sequence looked at or ''.
# Returns -2 if a task was admitted since that look, -1 if the id is taken,
# 0 if the balance is short, else 1.
_COMMIT = (
    ACCOUNT_LUA
    + TASK_LUA
    + """
if ARGV[10] ~= '' and (redis.call('GET', KEYS[7]) or '0') ~= ARGV[10] then return -2 end
if redis.call('EXISTS', KEYS[5]) == 1 then return -1 end
if not charge(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then
  return 0
end
add_task(KEYS[5], KEYS[6], KEYS[7], ARGV[5], ARGV[6], ARGV[7])
redis.call('SADD', KEYS[8], ARGV[6])
redis.call('SADD', KEYS[9], ARGV[1])
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

    def look(self, key: str, now: int) -> Outlook:
        """Due ends, evictable tasks, the key's caps and count, the last sequence: one script."""
        own, _index, ends = self._unfinished.keys(key)
        _ids, sequence, retired = self._tasks.index_keys
        account, _, defaults, _ = self._accounts.money_keys(key)
        max_kept, ttl_ms = self._tasks.kept
        args = [
            now,
            now - ttl_ms if ttl_ms else "",
            max_kept or "",
            self._accounts.fallback_balance,
        ]
        keys = [ends, retired, account, defaults, own, sequence]
        due, old, over, count, last, balance, *caps = self._look(keys=keys, args=args)
        return Outlook(
            due=int(due),
            evictable=old > 0 or over > 0,
            limits=self._accounts.limits_of(caps[:2], caps[2:]),
            unfinished=int(count),
            last_sequence=int(last),
            balance_micros=int(balance),
        )

    def commit(self, task: Task, insufficient_status: int, after: int | None = None) -> bool:
        """Charge, keep and count `task`, or change nothing: one script."""
        key, micros, done_at = task.key, task.charge_micros, task.timeline.done_at
        ids, sequence, _retired = self._tasks.index_keys
        keys = [
            *self._accounts.money_keys(key),
            self._tasks.key_of(task.task_id),
            ids,
            sequence,
            *self._unfinished.keys(key),
        ]
        args = [
            key,
            micros,
            self._accounts.fallback_balance,
            -micros,
            dumps(task),
            task.task_id,
            task.sequence,
            end_member(key, task.task_id),
            "" if done_at is None else done_at,
            "" if after is None else after,
        ]
        done = int(self._commit(keys=keys, args=args))
        if done == -2:
            return False
        if done == -1:
            raise KeyError(f"duplicate taskId {task.task_id}")
        if done == 0:
            raise InsufficientCredits(status=insufficient_status)
        return True
