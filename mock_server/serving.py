"""Runs the mock in the foreground: granian (default) or waitress, stopped by SIGINT/SIGTERM.

Everything that can be wrong with the settings is found before anything
listens or "serving on" is printed: the scenario is loaded, the host resolved
and the port bound once, so each failure is one `ConfigError` line (exit 2).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import socket
import sys
import threading
from types import FrameType
from typing import Any

from .binding import Source, probe_port, raise_file_limit, reserve_port, resolve_host, url
from .core.errors import ConfigError
from .logs import configure_logging, dict_config
from .settings import Settings, is_loopback

log = logging.getLogger("apixo_mock")

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _default_source(name: str) -> str:
    return "settings"


def run(settings: Settings, source: Source = _default_source) -> int:
    """Serve until stopped; returns the exit code. `source` names where a setting came from."""
    stopper = _Stopper()
    for signum in _STOP_SIGNALS:
        signal.signal(signum, stopper)
    configure_logging(settings)
    _check_scenario(settings, source)
    _check_replay(settings, source)
    _check_store(settings, source)
    address = resolve_host(settings.host, source)
    probe_port(address, settings.port, settings.host, source)
    raise_file_limit(settings.connection_limit)
    _warn_about_admin(settings)
    if settings.server == "waitress":
        return _run_waitress(settings, stopper)
    return _run_granian(settings, address, source, stopper)


class _Stopper:
    """The SIGINT/SIGTERM handler of the serving process, and of a granian worker's first moments.

    A granian worker is forked with its parent's handlers; until granian puts
    its own in place, a SIGTERM meant for the worker would only be recorded
    (once taking the five seconds of the kill timeout to stop it). Here a
    worker dies of it at once, and leaves SIGINT (Ctrl-C reaches the whole
    process group) to its parent, which stops it.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.requested = threading.Event()
        self.server: Any = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self.pid:
            if signum == signal.SIGTERM:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return
        self.requested.set()
        if self.server is not None:
            self.server.signal_handler_interrupt()


def _check_replay(settings: Settings, source: Source) -> None:
    if not settings.replay:
        return
    from .recording.exchange import RecordingError
    from .recording.replay import ReplayIndex

    try:
        ReplayIndex.load(settings.replay)
    except (OSError, RecordingError) as exc:
        raise ConfigError(source("replay"), "replay", str(exc)) from None


def _check_store(settings: Settings, source: Source) -> None:
    """A shared store that answers, before anything listens; several workers only with one."""
    if settings.workers > 1 and settings.server == "waitress":
        raise ConfigError(source("workers"), "workers", "waitress serves one process; use granian")
    if settings.workers > 1 and settings.store is None:
        raise ConfigError(
            source("workers"),
            "workers",
            f"{settings.workers} workers need a shared store (--store redis://HOST:PORT/DB);"
            " with the in-memory store each worker would be a separate mock",
        )
    if settings.store is None:
        return
    from .core.redis_url import reach_problem, url_problem

    problem = url_problem(settings.store) or reach_problem(settings.store)
    if problem is not None:
        raise ConfigError(source("store"), "store", problem)
    if not settings.store_prefix:
        raise ConfigError(source("store_prefix"), "store_prefix", "must not be empty")


def _check_scenario(settings: Settings, source: Source) -> None:
    if not settings.scenario:
        return
    from .core.scenario_files import resolve_scenario
    from .core.scenario_problems import ScenarioInvalid

    try:
        resolve_scenario(settings.scenario)
    except ScenarioInvalid as exc:
        # Start-up errors are one line: the first problem, and where to see the rest.
        first = exc.problems[0].text(exc.source)
        more = len(exc.problems) - 1
        rest = (
            f" (and {more} more: apixo-mock scenarios validate {settings.scenario})" if more else ""
        )
        raise ConfigError(source("scenario"), "scenario", first + rest) from None
    except ConfigError as exc:
        why = str(exc).removeprefix("scenario: ")
        raise ConfigError(source("scenario"), "scenario", why) from None


def _banner(base_url: str, server: str, settings: Settings) -> str:
    """Where to point a client, and where the rest is."""
    admin = f"; admin API at {base_url}/__admin" if settings.admin else ""
    keys = "any Bearer key" if not settings.keys else f"{len(settings.keys)} configured key(s)"
    return (
        f"apixo-mock serving on {base_url} ({server}, profile {settings.profile}, {keys})"
        f"; OpenAPI at {base_url}/openapi.json{admin}"
    )


def _warn_about_admin(settings: Settings) -> None:
    if settings.admin and settings.admin_token is None and not is_loopback(settings.host):
        log.warning("admin API disabled: bound to %s without --admin-token", settings.host)


def _prepared_app(settings: Settings) -> Any:
    """The app, built once in the parent: its errors surface before granian starts.

    The service's threads start in the worker (`_worker_loader`), which
    inherits the app when granian forks it.
    """
    from .web.app import create_app

    return create_app(settings)


# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
# Serving threads each need well under a millisecond per request; at 5 ms a request
# that lost the GIL waited several slices, which made most of the p99 at 50 connections.
SWITCH_INTERVAL_S = 0.001


def tune_interpreter() -> None:
    """The interpreter settings of a serving process (granian's worker; the bench's bare app).

    Call it once the app is built: what exists then lives as long as the process.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    # The app, its schemas, packs and modules are never garbage: out of the collector's
    # sight, a full collection no longer walks them all (it stalled a worker 60-180 ms).
    gc.freeze()


def granian_server(settings: Settings, address: str, port: int) -> Any:
    """granian configured as `serve` runs it (the benchmark serves its bare app the same way).

    Backpressure (requests handed to Python at once) is the connection limit,
    not the thread count: at the thread count, granian served only that many
    connections and left the others waiting for seconds under load.
    """
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    return Server(
        "apixo_mock",  # only a label: the loader given to serve() hands over the app
        address=address,
        port=port,
        interface=Interfaces.WSGI,
        workers=settings.workers,  # more than 1 only with a shared store (settings check)
        blocking_threads=settings.threads,
        backpressure=settings.connection_limit,
        http1_settings=HTTP1Settings(header_read_timeout=_ms(settings.header_timeout_s)),
        websockets=False,
        log_dictconfig=dict_config(settings),
        log_access=False,
        workers_kill_timeout=5,
    )


def _run_granian(settings: Settings, address: str, source: Source, stopper: _Stopper) -> int:
    app = _prepared_app(settings)
    holder = reserve_port(address, settings.port, settings.host, source)
    try:
        port = holder.getsockname()[1]
        server = granian_server(settings, address, port)
        if stopper.requested.is_set():  # stopped while starting
            return 0
        banner = _banner(url(settings.host, port), "granian", settings)
        _announce_once_accepting(address, port, banner, stopper)
        server.on_startup(lambda: _take_over_signals(server, stopper))
        server.serve(target_loader=_worker_loader(app, stopper.pid))
    finally:
        holder.close()
    return 0


def _announce_once_accepting(address: str, port: int, banner: str, stopper: _Stopper) -> None:
    """Print the start-up line once the port accepts connections, not before.

    On Linux granian's worker opens the listening socket itself, after the
    parent said "Listening at"; a client that connected on the start-up line
    was refused for a moment.
    """

    def announce() -> None:
        tick = threading.Event()
        for _ in range(600):  # 30 s, then the line goes out anyway
            if stopper.requested.is_set():
                return
            try:
                socket.create_connection((address, port), timeout=1).close()
                break
            except OSError:
                tick.wait(0.05)
        log.info(banner)

    threading.Thread(target=announce, name="apixo-mock-banner", daemon=True).start()


def _take_over_signals(server: Any, stopper: _Stopper) -> None:
    """Runs in the parent as granian starts, after it set its handlers and before it forks."""
    stopper.server = server
    for signum in _STOP_SIGNALS:
        signal.signal(signum, stopper)
    if stopper.requested.is_set():
        server.signal_handler_interrupt()


def _worker_loader(app: Any, parent_pid: int) -> Any:
    """granian's target loader, called in the forked worker before it serves."""

    def load(*_: Any) -> Any:
        from multiprocessing.util import Finalize

        _WorkerSignals().install()
        _die_with_parent(parent_pid)
        tune_interpreter()
        service = app.extensions["apixo_mock"]
        service.start()
        # granian's worker is a multiprocessing child, where atexit never runs but
        # multiprocessing's own finalizers do, once the worker has stopped serving:
        # the shutdown hook that closes the service and logs undelivered callbacks.
        Finalize(service, service.close, exitpriority=10)
        return app

    return load


class _WorkerSignals:
    """A granian worker's SIGINT/SIGTERM, taken by one thread with sigwait and heeded once.

    granian's worker waits for its stop with the main thread blocked on a
    lock, and handles signals in Python, which only the main thread runs: a
    signal the kernel hands to any other thread (as it does with a second one
    while the first is pending, say Ctrl-C's SIGINT then the parent's SIGTERM)
    never wakes it, and a second stop also blocks granian's one-slot channel
    with the GIL held. Either way the worker hung until the parent's kill
    timeout. Here both signals are blocked in every thread (all start after
    this) and one thread waits for the first, then stops granian's worker.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requested = False
        self._event: Any = None

    def install(self) -> None:
        """Block the signals, start the waiting thread, and catch granian's stop event."""
        from granian import _signals

        make_event = getattr(_signals, "set_sync_signals", None)
        if make_event is None:  # another granian: leave its handling as it is
            return

        def set_sync_signals() -> Any:
            event = make_event()
            self._attach(event)
            return event

        _signals.set_sync_signals = set_sync_signals
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        threading.Thread(target=self._wait, name="apixo-mock-signals", daemon=True).start()

    def _wait(self) -> None:
        signal.sigwait(_STOP_SIGNALS)
        with self._lock:
            self._requested = True
            event = self._event
        if event is not None:
            event.set()

    def _attach(self, event: Any) -> None:
        with self._lock:
            self._event = event
            requested = self._requested
        if requested:  # a stop came while the worker was starting
            event.set()


def _die_with_parent(parent_pid: int) -> None:
    """SIGTERM this worker when the serving process dies, even of SIGKILL.

    Else an orphaned worker would go on answering on the port, and a restart
    would find it in use. Linux has prctl(PR_SET_PDEATHSIG); elsewhere a
    thread watches the parent.
    """
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    else:
        threading.Thread(
            target=_watch_parent, args=(parent_pid,), name="apixo-mock-parent", daemon=True
        ).start()
    if os.getppid() != parent_pid:  # it died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


def _watch_parent(parent_pid: int) -> None:
    tick = threading.Event()
    while os.getppid() == parent_pid:
        tick.wait(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _run_waitress(settings: Settings, stopper: _Stopper) -> int:
    from .testing.server import MockServer

    with MockServer(settings) as server:
        log.info(_banner(server.base_url, "waitress", settings))
        stopper.requested.wait()
    log.info("apixo-mock stopped")
    return 0
