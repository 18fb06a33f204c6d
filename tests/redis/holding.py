"""Helpers for tests of reads a process holds on Redis: round trips counted, members recorded."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from redis.connection import Connection

from mock_server.core.stores.redis import coherence as coherence_module
from mock_server.core.stores.redis import gate as gate_module
from mock_server.core.stores.redis import stores as redis_stores
from mock_server.core.stores.redis.coherence import Coherence


class Trips:
    """Counts what the test's thread sends on any redis-py connection: one call, one round trip.

    Only the test's thread: a process's tracking thread renews its lease and
    acknowledges fences on its own.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original: Any = Connection.send_packed_command
        mine = threading.current_thread()

        def counted(connection: Connection, command: Any, check_health: bool = True) -> None:
            if threading.current_thread() is mine:
                self.count += 1
            original(connection, command, check_health)

        monkeypatch.setattr(Connection, "send_packed_command", counted)

    def of(self, send: Any) -> int:
        """Round trips made while `send()` answers 200."""
        before = self.count
        answer = send()
        assert answer.status_code == 200, answer.data
        return self.count - before


def recorded_members(monkeypatch: pytest.MonkeyPatch) -> list[Coherence]:
    """Every membership the Redis stores build from now on, in order."""
    made: list[Coherence] = []

    class Recorded(Coherence):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(redis_stores, "Coherence", Recorded)
    return made


def hold_long(monkeypatch: pytest.MonkeyPatch) -> None:
    """Grants and leases that outlast any pause of a loaded machine: what is held stays held."""
    monkeypatch.setattr(gate_module, "GRANT_LIFE_S", 600.0)
    monkeypatch.setattr(coherence_module, "LEASE_S", 600.0)
