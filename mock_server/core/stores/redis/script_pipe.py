"""One thread's own Redis connection for scripts whose answers it reads later.

redis-py's client sends a command and waits for its answer. A callback
sender settles an attempt and then POSTs its next callback; through a pipe
it writes the settle script, POSTs, and reads the answers only when it has
sent its whole share of callbacks: they came back while the receiver
answered, usually all in one read. That spares a wait, a system call and a
thread wake-up per callback. Answers come back in the order the scripts
were sent, so reading one reads every earlier one first. A connection that
fails is dropped by redis-py and opened afresh on next use; the scripts
whose answers it took along are run again through the client (see
`_Answer`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import hiredis
import redis
from redis.commands.core import Script

_LOST = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class ScriptPipe:
    """Sends scripts on a connection of its own, for one thread; not thread-safe."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._connection: Any = None
        self._unread: deque[_Answer] = deque()  # sent on the connection, in order

    def send(self, script: Script, args: list[str | bytes]) -> Callable[[], Any]:
        """Write `script` with `args` now; calling the result reads its answer (once)."""
        connection = self._connect()
        # hiredis packs in C: redis-py's packer first checks each argument's type
        # in a Python generator, two dozen calls per settle script.
        command: Any = ("EVALSHA", script.sha, 0, *args)  # its stub wants a 1-tuple
        packed = [hiredis.pack_command(command)]
        try:
            connection.send_packed_command(packed, check_health=False)
        except _LOST:  # a connection Redis closed (a restart, an idle timeout): once more, fresh
            self._lose_unread()
            connection.disconnect()
            connection.send_packed_command(packed, check_health=False)
        answer = _Answer(self, script, args)
        self._unread.append(answer)
        return answer

    def read_through(self, answer: _Answer) -> None:
        """Read the answers on the connection up to and including `answer`'s."""
        while answer.pending and self._unread:
            first = self._unread.popleft()
            try:
                first.fill(self._connection.read_response())
            except redis.exceptions.NoScriptError:
                # Redis lost its script cache (a restart) and ran nothing: run it again.
                first.fill(None, lost=True)
            except _LOST:
                first.fill(None, lost=True)
                self._lose_unread()  # redis-py dropped the connection: later answers went with it
            except redis.exceptions.ResponseError as exc:
                first.fill(exc, failed=True)  # an error answer: raised by its own call
            except Exception:
                # A reply that could not be read leaves the connection out of step:
                # start afresh, and have every unread answer by running its script again.
                first.fill(None, lost=True)
                self._lose_unread()
                self._connection.disconnect()

    def _lose_unread(self) -> None:
        """The connection went: its unread answers are to be had by running the scripts again."""
        while self._unread:
            self._unread.popleft().fill(None, lost=True)

    def _connect(self) -> Any:
        if self._connection is None:
            pool: Any = self._client.connection_pool
            try:
                self._connection = pool.get_connection()
            except TypeError:  # redis-py before 5.3 asks for a command name
                self._connection = pool.get_connection("EVALSHA")
        return self._connection


class _Answer:
    """A script's answer, read from the pipe's connection on the first call.

    An answer the connection took along when it failed, or a script Redis did
    not run because it had lost its script cache, is had by running the script
    again through the client, as redis-py's own retry of a lost command would:
    a settle that did run ends its lease, so the second finds it gone and
    records nothing twice (unless a reordered batch's sends remain).
    """

    def __init__(self, pipe: ScriptPipe, script: Script, args: list[str | bytes]) -> None:
        self._pipe = pipe
        self._script = script
        self._args = args
        self.pending = True
        self._lost = False
        self._failed = False
        self._value: Any = None

    def fill(self, value: Any, *, lost: bool = False, failed: bool = False) -> None:
        """The pipe read this answer (`value`; with `failed`, the error Redis answered), or
        (`lost`) it is to be had by running the script again."""
        self.pending, self._lost, self._failed, self._value = False, lost, failed, value

    def again(self) -> Any:
        """Run the script again, through the client (a connection of the pool)."""
        return self._script(args=self._args)

    def __call__(self) -> Any:
        if self.pending:
            self._pipe.read_through(self)
        if self._failed:
            self._failed = False  # raised once, as a command's error is; None after
            error, self._value = self._value, None
            raise error
        if self._lost:
            self._lost = False  # run once, even if that fails: the failure is raised
            self._value = self.again()
        return self._value
