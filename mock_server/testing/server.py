"""MockServer: one isolated mock on a free loopback port, served by waitress in a thread.

For tests, the pytest plugin and anyone who wants a mock inside their own
process: `with MockServer(scenario="flaky") as mock: mock.base_url`. A server
is a `MockHandle`, so the same object advances the clock, loads scenarios and
reads tasks, exactly as the plugin's `apixo_mock` fixture does.
"""

from __future__ import annotations

import json
import math
import socket
import threading
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask, WSGITask

from ..core.service import MockService
from ..settings import Settings
from ..web.app import build_service, create_app
from ..web.faults import DROP_HOOK
from .handle import DEFAULT_API_KEY, MockHandle, ScenarioSpec

_READY_TIMEOUT_S = 10.0


class _DroppableTask(WSGITask):
    """A waitress task that lets the app close the connection without sending a byte."""

    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        environ[DROP_HOOK] = self._drop
        return environ

    def _drop(self) -> None:
        # Claim the headers were written, so waitress neither sends them nor an
        # error page, then close: the client sees the connection end with no answer.
        self.wrote_header = True
        self.close_on_finish = True


class _EnvelopeErrorTask(ErrorTask):
    """waitress's own refusals (a malformed request, a body over the cap) as envelopes."""

    def execute(self) -> None:
        request: Any = self.request  # waitress's stubs type it as the error itself
        error = request.error
        message = error.reason
        if error.code == 413:  # the app's wording
            cap = self.channel.adj.max_request_body_size
            message = f"Request body too large: at most {cap} bytes"
        envelope = {"code": error.code, "message": message, "data": None}
        body = json.dumps(envelope, separators=(",", ":")).encode()
        self.status = f"{error.code} {error.reason}"
        headers: Any = self.response_headers
        headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _DroppableChannel(HTTPChannel):
    task_class = _DroppableTask
    error_task_class = _EnvelopeErrorTask


class MockServer(MockHandle):
    """A mock server in a background thread; `start()`/`close()` or a `with` block.

    Without `settings` it listens on a free loopback port with a frozen clock
    (tests advance it); `overrides` change any `Settings` field. `scenario`
    may be anything `use_scenario` takes; `reset()` brings it back. `api_key`
    defaults to the first configured key, else "test-key" (any key is accepted
    unless `keys` are configured).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        api_key: str | None = None,
        scenario: ScenarioSpec | None = None,
        **overrides: Any,
    ) -> None:
        base = settings or Settings(host="127.0.0.1", port=0, access_log=False, frozen=True)
        if isinstance(scenario, str):
            # A name or path goes into the settings, where the service itself re-applies it.
            overrides["scenario"], scenario = scenario, None
        self.settings = base.replace(**overrides) if overrides else base
        service: MockService = build_service(self.settings)
        key = api_key or (self.settings.keys[0] if self.settings.keys else DEFAULT_API_KEY)
        super().__init__(service, key, scenario=scenario)
        self.app = create_app(service=self.service)
        # waitress's own stubs lag its code (trigger, _map), hence Any.
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self.base_url.rsplit(":", 1)[1])

    def is_running(self) -> bool:
        """Whether the serving thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> MockServer:
        """Bind, start the service's threads and serve; returns once connections are accepted."""
        if self._server is not None:
            return self
        # Bind first: a port that cannot be had leaves no service thread behind.
        server: Any = create_server(
            self.app,
            host=self.settings.host,
            port=self.settings.port,
            threads=self.settings.threads,
            ident="apixo-mock",
            _start=True,
            **_slow_client_limits(self.settings),
        )
        self.service.start()
        server.channel_class = _DroppableChannel
        _accept_in_bursts(server)
        self._server = server
        self._thread = threading.Thread(target=server.run, name="apixo-mock-server", daemon=True)
        self._thread.start()
        _wait_until_accepting(self.settings.host, self.port)
        return self

    def close(self) -> None:
        """Stop serving and stop the service's threads; idempotent."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            # Workers first, as waitress's own close() does: a worker that finished
            # after the loop had closed the wake-up pipe would write to a dead fd.
            server.task_dispatcher.shutdown(timeout=int(_READY_TIMEOUT_S))
            _stop_loop(server)
        if thread is not None:
            thread.join(timeout=_READY_TIMEOUT_S)
        self.service.close()

    stop = close

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _slow_client_limits(settings: Settings) -> dict[str, Any]:
    """waitress's limits from the settings: connections at once, and silence before a close.

    poll(), not select(): select() cannot watch more than 1,024 connections.
    """
    timeout_s = max(1, math.ceil(settings.header_timeout_s))
    return {
        "connection_limit": settings.connection_limit,
        # waitress reads a whole body before the app sees it: refuse one over the cap unread.
        "max_request_body_size": settings.max_body_bytes,
        "channel_timeout": timeout_s,
        "cleanup_interval": timeout_s,  # how often silent connections are looked for
        "asyncore_use_poll": True,
    }


def _accept_in_bursts(server: Any, burst: int = 64) -> None:
    """Accept up to `burst` waiting connections per turn of waitress's loop, not one.

    A turn looks at every open connection; accepting one per turn, a crowd
    of slow clients that connected at once kept an honest client queued
    behind them for a minute (bench/slow_clients.py).
    """
    accept_one = server.handle_accept

    def handle_accept() -> None:
        for _ in range(burst):
            before = len(server._map)
            accept_one()
            if len(server._map) == before or before + 1 >= server.adj.connection_limit:
                return  # nothing was waiting, or the limit is reached

    server.handle_accept = handle_accept


def _stop_loop(server: Any) -> None:
    """Have waitress's loop thread close every socket; its loop ends once its map is empty.

    Closing them from this thread would race the loop's select(). And not
    `trigger.pull_trigger(thunk)`: it appends the thunk, then writes to the
    wake-up pipe, and a wake-up from elsewhere in between runs the thunk, which
    closes that pipe before the write (EBADF, or a write to a reused fd).
    Holding the trigger's lock across both keeps the thunk waiting for the write.
    """
    trigger = server.trigger
    with trigger.lock:
        trigger.thunks.append(lambda: wasyncore.close_all(server._map))
        trigger._physical_pull()


def _wait_until_accepting(host: str, port: int) -> None:
    """Probe the port with a deadline rather than sleeping a fixed time."""
    ready = threading.Event()
    for _ in range(int(_READY_TIMEOUT_S / 0.005)):
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            ready.wait(0.005)
    raise RuntimeError(f"mock server did not start on {host}:{port}")
