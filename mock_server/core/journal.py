"""The request journal: a bounded ring buffer of what the server answered."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


# Not frozen: a frozen dataclass's __init__ costs several times more, on every request.
@dataclass(slots=True)
class Entry:
    """One request as the journal keeps it (the key redacted to its last 4 characters)."""

    time: int
    method: str
    path: str
    status: int
    latency_ms: float
    key: str | None = None
    task_id: str | None = None
    reason: str | None = None

    def fields(self) -> tuple[Any, ...]:
        """The fields in order, as `Entry(*fields)` takes them back (no deep copy: all scalars)."""
        return (
            self.time,
            self.method,
            self.path,
            self.status,
            self.latency_ms,
            self.key,
            self.task_id,
            self.reason,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, in the API's camelCase."""
        data = asdict(self)
        data["latencyMs"] = data.pop("latency_ms")
        data["taskId"] = data.pop("task_id")
        return data


class Journal:
    """The last `size` requests, newest last; safe across threads."""

    def __init__(self, size: int = 1000) -> None:
        # No lock: deque.append and deque.copy are atomic, and every request
        # passes here; a lock would make the serving threads queue behind it.
        self._entries: deque[Entry] = deque(maxlen=size)

    def record(self, entry: Entry) -> None:
        """Keep one entry, dropping the oldest past the size."""
        self._entries.append(entry)

    def entries(
        self,
        *,
        path: str | None = None,
        status: int | None = None,
        task_id: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Entries matching every filter given (path by prefix), oldest first."""
        return select(self._entries.copy(), path=path, status=status, task_id=task_id, limit=limit)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()


def select(
    entries: Iterable[Entry],
    *,
    path: str | None = None,
    status: int | None = None,
    task_id: str | None = None,
    limit: int | None = None,
) -> list[Entry]:
    """The entries matching every filter given (path by prefix), the last `limit` of them.

    Every journal store filters the same way, whatever keeps its entries.
    """
    found = [
        e
        for e in entries
        if (path is None or e.path.startswith(path))
        and (status is None or e.status == status)
        and (task_id is None or e.task_id == task_id)
    ]
    if limit is None:
        return found
    return found[-limit:] if limit > 0 else []
