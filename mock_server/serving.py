"""Runs the mock in the foreground: granian (default) or waitress, stopped by SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from typing import Any

from .core.errors import ConfigError
from .settings import Settings, is_loopback

log = logging.getLogger("apixo_mock")


def configure_logging(settings: Settings) -> None:
    """One line per event on stderr."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr
    )


def check_port_free(host: str, port: int) -> None:
    """`ConfigError` if something already listens there.

    granian binds with SO_REUSEPORT, so a second server on a busy port would
    start without complaint and share the connections with the first.
    """
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: a port with only TIME_WAIT leftovers is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError("command line", "port", f"{host}:{port}: {exc.strerror}") from None


def run(settings: Settings) -> int:
    """Serve until stopped; returns the exit code."""
    check_port_free(settings.host, settings.port)
    configure_logging(settings)
    _warn_about_admin(settings)
    if settings.server == "waitress":
        return _run_waitress(settings)
    return _run_granian(settings)


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


def _app(settings: Settings) -> Any:
    from multiprocessing.util import Finalize

    from .web.app import create_app

    app = create_app(settings)
    service = app.extensions["apixo_mock"]
    service.start()
    # granian's worker is a multiprocessing child, where atexit never runs but
    # multiprocessing's own finalizers do, once the worker has stopped serving:
    # the shutdown hook that closes the service and logs undelivered callbacks.
    Finalize(service, service.close, exitpriority=10)
    return app


def granian_server(settings: Settings) -> Any:
    """granian configured as `serve` runs it (the benchmark serves its bare app the same way)."""
    from granian.constants import Interfaces
    from granian.server import Server

    return Server(
        "apixo_mock",  # only a label: the loader given to serve() builds the app
        address=settings.host,
        port=settings.port,
        interface=Interfaces.WSGI,
        workers=1,
        blocking_threads=settings.threads,
        websockets=False,
        log_access=False,
        workers_kill_timeout=5,
    )


def _run_granian(settings: Settings) -> int:
    server = granian_server(settings)
    log.info(_banner(f"http://{settings.host}:{settings.port}", "granian", settings))
    # granian forks a worker that calls this loader: the service and its
    # background threads are built there, in the process that serves.
    server.serve(target_loader=lambda *_: _app(settings))
    return 0


def _run_waitress(settings: Settings) -> int:
    from .server import MockServer

    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    with MockServer(settings) as server:
        log.info(_banner(server.base_url, "waitress", settings))
        stopped.wait()
    log.info("apixo-mock stopped")
    return 0
