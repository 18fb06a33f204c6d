"""The request journal in Redis: a capped list of JSON entries, newest last."""

from __future__ import annotations

import json
from typing import Any

import orjson

from ...journal import Entry, select

# Append one entry and drop the oldest past ARGV[2]: one command instead of MULTI..EXEC.
_RECORD = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
"""


class RedisJournal:
    """The last `size` requests answered by any process sharing the prefix."""

    def __init__(self, client: Any, prefix: str, size: int = 1000) -> None:
        self._r = client
        self._list = prefix + "journal"
        self._size = size
        self._record = client.register_script(_RECORD)

    def record(self, entry: Entry) -> None:
        """Keep one entry, dropping the oldest past the size (one script)."""
        if self._size <= 0:
            return
        self._record(keys=[self._list], args=[orjson.dumps(entry.fields()), self._size])

    def entries(
        self,
        *,
        path: str | None = None,
        status: int | None = None,
        task_id: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Entries matching every filter given (path by prefix), oldest first."""
        entries = [Entry(*json.loads(raw)) for raw in self._r.lrange(self._list, 0, -1)]
        return select(entries, path=path, status=status, task_id=task_id, limit=limit)

    def clear(self) -> None:
        """Forget every entry."""
        self._r.unlink(self._list)
