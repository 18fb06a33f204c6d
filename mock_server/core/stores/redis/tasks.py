"""Tasks in Redis: one pickled record per task, an index by sequence, a retired set."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ...lifecycle import Failure, Timeline
from ...tasks import Task
from .codec import dumps, loads
from .fence import Fence, no_fence

# Insert only if the id is unused, index it, and keep the highest sequence: one
# step (the admission script in admit.py does the same with what it read already).
TASK_LUA = """
local function add_task(task, ids, seq, record, task_id, sequence)
  if not redis.call('SET', task, record, 'NX') then return false end
  redis.call('ZADD', ids, sequence, task_id)
  local last = tonumber(redis.call('GET', seq) or '0')
  if tonumber(sequence) > last then redis.call('SET', seq, sequence) end
  return true
end
"""
_ADD = (
    TASK_LUA
    + """
if add_task(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3]) then return 1 end
return 0
"""
)
_CHUNK = 500  # ids per MGET/UNLINK: bounded round trips, bounded replies


class RedisTaskStore:
    """Tasks by id under `prefix`, evicted like the memory store's (count and age).

    Retired tasks sit in a sorted set by the time they ended, so eviction
    pops the earliest ended, never scans every task.
    """

    def __init__(
        self, client: Any, prefix: str, max_kept: int = 0, ttl_ms: int = 0, fence: Fence = no_fence
    ) -> None:
        self._r = client
        self._fence = fence
        self._task = prefix + "task:"
        self._ids = prefix + "tasks"
        self._seq = prefix + "tasks:seq"
        self._retired = prefix + "tasks:retired"
        # Moved when a kept task changes or goes (not when one is added): a process
        # holding tasks it read (gate.py) hears of this key, not of every submit.
        self.epoch_key = prefix + "tasks:epoch"
        self._max_kept = max_kept
        self._ttl_ms = ttl_ms
        self._add = client.register_script(_ADD)

    def add(self, task: Task) -> None:
        """Keep a new task; `KeyError` if its id is taken (by any process)."""
        keys = [self._task + task.task_id, self._ids, self._seq]
        if not self._add(keys=keys, args=[dumps(task), task.task_id, task.sequence]):
            raise KeyError(f"duplicate taskId {task.task_id}")

    def last_sequence(self) -> int:
        """The highest `sequence` added since the last `clear` (0: none)."""
        return int(self._r.get(self._seq) or 0)

    @property
    def index_keys(self) -> list[str]:
        """The ids by sequence, the highest sequence, the retired ids (by end time)."""
        return [self._ids, self._seq, self._retired]

    @property
    def kept(self) -> tuple[int, int]:
        """The count and age (ms) past which retired tasks are evicted (0: no limit)."""
        return self._max_kept, self._ttl_ms

    def key_of(self, task_id: str) -> str:
        """The Redis key of a task's record (read by the request gate too)."""
        return self._task + task_id

    def get(self, task_id: str) -> Task | None:
        """The task with this id, whoever owns it."""
        data = self._r.get(self._task + task_id)
        return None if data is None else decode_task(data)

    def get_many(self, task_ids: list[str]) -> list[Task | None]:
        """The tasks with these ids, in order (None: not kept): one MGET per 500."""
        found: list[Task | None] = []
        for start in range(0, len(task_ids), _CHUNK):
            chunk = task_ids[start : start + _CHUNK]
            records = self._r.mget([self._task + i for i in chunk])
            found += [None if data is None else decode_task(data) for data in records]
        return found

    def owned(self, task_id: str, key: str) -> Task | None:
        """The task if `key` created it."""
        task = self.get(task_id)
        return task if task is not None and task.key == key else None

    def retime(
        self, task_id: str, timeline: Timeline, failure: Failure | None, reason: str
    ) -> Task:
        """Give an unfinished task a new end; called inside the admission transaction."""
        task = self.get(task_id)
        if task is None:
            raise KeyError(task_id)
        task = replace(task, timeline=timeline, failure=failure, reason=reason, final_body=None)
        pipe = self._r.pipeline(transaction=True)
        pipe.set(self._task + task_id, dumps(task), xx=True)
        pipe.incr(self.epoch_key)
        pipe.execute()
        self._fence()
        return task

    def retire(self, task_id: str, ended_at: int) -> None:
        """The task has finished and been settled: it may be evicted from now on."""
        if self._max_kept or self._ttl_ms:
            self._r.zadd(self._retired, {task_id: ended_at})

    def retire_many(self, ended: list[tuple[str, int]]) -> None:
        """`retire` each (task id, ended at) pair: one ZADD."""
        if ended and (self._max_kept or self._ttl_ms):
            self._r.zadd(self._retired, dict(ended))

    def evict(self, now: int) -> int:
        """Forget retired tasks beyond the count or past the age; returns how many."""
        if not (self._max_kept or self._ttl_ms):
            return 0
        gone: list[str] = []
        if self._ttl_ms:
            old = self._r.zrangebyscore(self._retired, "-inf", now - self._ttl_ms)
            gone += [i.decode() for i in old]
        if self._max_kept:
            over = self._r.zcard(self._retired) - len(gone) - self._max_kept
            if over > 0:
                first = self._r.zrange(self._retired, len(gone), len(gone) + over - 1)
                gone += [i.decode() for i in first]
        self._forget(gone)
        if gone:
            self._fence()
        return len(gone)

    def _forget(self, ids: list[str]) -> None:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            pipe = self._r.pipeline(transaction=True)
            pipe.unlink(*(self._task + i for i in chunk))
            pipe.zrem(self._ids, *chunk)
            pipe.zrem(self._retired, *chunk)
            pipe.incr(self.epoch_key)
            pipe.execute()

    def all(self) -> Iterator[Task]:
        """A snapshot of every task, oldest first."""
        ids = [i.decode() for i in self._r.zrange(self._ids, 0, -1)]
        tasks: list[Task] = []
        for start in range(0, len(ids), _CHUNK):
            found = self._r.mget([self._task + i for i in ids[start : start + _CHUNK]])
            tasks += [decode_task(data) for data in found if data is not None]
        return iter(tasks)

    def __len__(self) -> int:
        return int(self._r.zcard(self._ids))

    def clear(self) -> None:
        """Forget every task (of this prefix only)."""
        ids = [i.decode() for i in self._r.zrange(self._ids, 0, -1)]
        self._forget(ids)
        self._r.unlink(self._ids, self._seq, self._retired)
        self._r.incr(self.epoch_key)
        self._fence()


def decode_task(data: bytes) -> Task:
    """A task record as `RedisTaskStore` keeps it; `TypeError` if the key holds something else."""
    task = loads(data)
    if not isinstance(task, Task):
        raise TypeError("the store holds something else under a task's key")
    return task
