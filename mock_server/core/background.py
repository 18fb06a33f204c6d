"""Background threads that never die quietly.

Each thread runs one loop. A loop is expected to catch its own errors and go
on (reporting them through `caught`, which logs the traceback and counts it);
a thread that dies anyway is logged and counted too, and `revive` starts a
fresh one in its place. The count is what a health check shows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence


class BackgroundThreads:
    """A fixed set of named daemon threads, each running one loop."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._cond = threading.Condition()
        self._loops: list[tuple[str, Callable[[], None]]] = []
        self._threads: list[threading.Thread] = []
        self._live = 0  # threads started and not yet exited
        self._errors = 0
        self._closing = False

    def start(self, loops: Sequence[tuple[str, Callable[[], None]]]) -> None:
        """Start one thread per (name, loop)."""
        self._loops = list(loops)
        self._threads = [self._spawn(index) for index in range(len(self._loops))]

    def caught(self, message: str, *args: object) -> None:
        """Log the exception being handled, with its traceback, and count it."""
        self._log.exception(message, *args)
        with self._cond:
            self._errors += 1

    @property
    def errors(self) -> int:
        """Exceptions caught so far, including threads that died."""
        with self._cond:
            return self._errors

    def revive(self) -> list[str]:
        """Start a fresh thread for each one that died; their names (nothing once closing)."""
        with self._cond:
            if self._closing:
                return []
            dead = [i for i, thread in enumerate(self._threads) if not thread.is_alive()]
        for index in dead:
            self._log.warning("restarting background thread %s", self._threads[index].name)
            self._threads[index] = self._spawn(index)
        return [self._loops[index][0] for index in dead]

    def closing(self) -> None:
        """The loops are being told to stop: revive no more."""
        with self._cond:
            self._closing = True

    def wait_stopped(self, timeout_s: float) -> bool:
        """Wait until every thread has exited; False if `timeout_s` passed first."""
        with self._cond:
            stopped = self._cond.wait_for(lambda: self._live == 0, timeout_s)
        for thread in self._threads:
            thread.join(0.1 if stopped else 0)
        return stopped

    @property
    def live(self) -> int:
        """Threads started and not yet exited."""
        with self._cond:
            return self._live

    def _spawn(self, index: int) -> threading.Thread:
        name, loop = self._loops[index]
        thread = threading.Thread(target=self._run, args=(loop,), name=name, daemon=True)
        with self._cond:
            self._live += 1
        thread.start()
        return thread

    def _run(self, loop: Callable[[], None]) -> None:
        try:
            loop()
        except BaseException:  # reported here, so not raised again to threading's hook
            self.caught("background thread %s died", threading.current_thread().name)
        finally:
            with self._cond:
                self._live -= 1
                self._cond.notify_all()
