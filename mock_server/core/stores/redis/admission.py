"""The admission transaction across processes: a Redis lease lock, re-entrant in a process.

Admission reads and changes several stores (settle, cap, sequence, charge,
insert); holding this lock, one process at a time does so, whatever number
share the prefix. The lock is Redis's own pattern (SET NX PX, released by a
compare-and-delete script, in redis-py's `Lock`), with a lease: a process
killed while holding it blocks the others for at most `lease_s`. Within a
process, threads queue on a local lock first, so only one of them waits on Redis.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from redis.exceptions import LockError

from ...errors import Unavailable

log = logging.getLogger("apixo_mock")


class RedisAdmission:
    """A re-entrant context manager: the local lock, then (outermost only) the Redis lease."""

    def __init__(self, client: Any, name: str, lease_s: float = 10.0, wait_s: float = 30.0) -> None:
        self._local = threading.RLock()
        self._depth = 0  # guarded by _local
        # Polled every 2 ms while another process holds it: admission steps are short.
        self._lease = client.lock(
            name, timeout=lease_s, blocking_timeout=wait_s, sleep=0.002, thread_local=False
        )

    def __enter__(self) -> None:
        self._local.acquire()
        if self._depth == 0:
            try:
                acquired = self._lease.acquire()
            except BaseException:
                self._local.release()
                raise
            if not acquired:
                self._local.release()
                raise Unavailable("The mock's shared store is busy; try again")
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        try:
            self._depth -= 1
            if self._depth == 0:
                try:
                    self._lease.release()
                except LockError:  # held past its lease: another process may have it now
                    log.warning("the shared store's admission lock expired while held")
        finally:
            self._local.release()
