"""One thread's own Redis connection for scripts whose answers it reads later.

redis-py's client sends a command and waits for its answer. A callback
sender settles an attempt and then POSTs its next callback; through a pipe
it writes the settle script, POSTs, and only then reads the answer, which
came back while the receiver answered. That spares a wait (and a thread
wake-up) per callback. Answers come back in the order the scripts were
sent, so a pipe reads any answer still unread before it sends again; a
connection that fails is dropped by redis-py and opened afresh on next use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from redis.commands.core import Script

_LOST = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class ScriptPipe:
    """Sends scripts on a connection of its own, for one thread; not thread-safe."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._connection: Any = None
        self._unread: _Answer | None = None

    def send(self, script: Script, args: list[str]) -> Callable[[], Any]:
        """Write `script` with `args` now; calling the result reads its answer (once)."""
        if self._unread is not None:
            self._unread()  # the earlier answer comes first on the connection
        connection = self._connect()
        try:
            connection.send_command("EVALSHA", script.sha, 0, *args)
        except _LOST:  # a connection Redis closed (a restart, an idle timeout): once more, fresh
            connection.disconnect()
            connection.send_command("EVALSHA", script.sha, 0, *args)
        answer = self._unread = _Answer(self, connection, script, args)
        return answer

    def read(self, answer: _Answer) -> None:
        """`answer` is being read: the pipe may send again."""
        if self._unread is answer:
            self._unread = None

    def _connect(self) -> Any:
        if self._connection is None:
            pool: Any = self._client.connection_pool
            try:
                self._connection = pool.get_connection()
            except TypeError:  # redis-py before 5.3 asks for a command name
                self._connection = pool.get_connection("EVALSHA")
        return self._connection


class _Answer:
    """A script's answer, read from the pipe's connection on the first call."""

    def __init__(self, pipe: ScriptPipe, connection: Any, script: Script, args: list[str]) -> None:
        self._pipe = pipe
        self._connection = connection
        self._script = script
        self._args = args
        self._read = False
        self._value: Any = None

    def __call__(self) -> Any:
        if self._read:
            return self._value
        self._read = True  # even if reading fails: redis-py drops a connection that failed
        self._pipe.read(self)
        try:
            self._value = self._connection.read_response()
        except redis.exceptions.NoScriptError:
            # Redis lost its script cache (a restart): it ran nothing; redis-py loads and runs it.
            self._value = self._script(args=self._args)
        except _LOST:
            # The answer was lost with the connection: run it again through the client, as its
            # own retry of a lost command would (a settle that did run ends its lease: the
            # second finds it gone, unless a reordered batch's sends remain).
            self._value = self._script(args=self._args)
        return self._value
