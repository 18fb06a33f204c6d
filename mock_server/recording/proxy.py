"""The recording proxy: forwards every request upstream, answers verbatim, writes each exchange.

A plain WSGI app (werkzeug's Request and Response, no routing: a proxy must
pass every path through, doubled slashes included) served by waitress in a
thread, as `MockServer` is. A callback submit gets the proxy's own
`/__record/callback/<id>` URL upstream; the upstream's callback is recorded
and relayed to the client's original URL, and the upstream gets the
original receiver's answer.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import urllib3
from waitress.server import create_server
from werkzeug.wrappers import Request, Response

from ..testing.server import _stop_loop, _wait_until_accepting
from .exchange import (
    body_value,
    header_secrets,
    iso,
    model_of,
    redact,
    write_exchange,
)
from .results import download_results

log = logging.getLogger("apixo_mock.record")

CALLBACK_PREFIX = "/__record/callback/"
# Marks the proxy's own 502 when the upstream (or a callback's receiver) failed;
# drift and replay skip such exchanges: they say nothing about the API.
PROXY_ERROR_HEADER = "X-Apixo-Record-Error"
# Hop-by-hop headers (RFC 9110 7.6.1) and those the proxy recomputes itself.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",  # urllib3 decodes the body, so the encoding no longer applies
    }
)
_CONNECT_TIMEOUT_S = 10.0
# A receiver has 30 s to answer a callback (docs/contract.md): the relay waits as
# long, so a slow receiver looks to the upstream as it would without the proxy.
_CALLBACK_TIMEOUT = urllib3.Timeout(connect=_CONNECT_TIMEOUT_S, read=30.0)


def wall_clock_ms() -> int:
    """The system clock in Unix milliseconds (the default clock of a recording)."""
    return round(time.time() * 1000)


def forwardable(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers without hop-by-hop ones and those recomputed on the way."""
    return {name: value for name, value in headers if name.lower() not in _NOT_FORWARDED}


class Recorder:
    """A recording proxy in a background thread; `start()`/`close()` or a `with` block.

    `upstream` is the API's base URL, `out` the recording directory. `port=0`
    binds a free port; `public_url` is the origin the upstream reaches the
    proxy at for callbacks (default: the bound address). `secrets` are
    redacted from every file besides the Authorization header. `clock` (Unix
    ms) stamps `recordedAt`: recording a mock, pass its clock so timings are
    the mock's.
    """

    def __init__(
        self,
        upstream: str,
        out: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        secrets: Iterable[str] = (),
        download_results: bool = False,
        clock: Callable[[], int] = wall_clock_ms,
        timeout_s: float = 60.0,
        threads: int = 4,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.out = Path(out)
        self.host, self._port, self._public_url = host, port, public_url
        self.download = download_results
        self.clock = clock
        self.threads = threads
        self._timeout = urllib3.Timeout(connect=_CONNECT_TIMEOUT_S, read=timeout_s)
        self._http = urllib3.PoolManager(retries=False)
        self._lock = threading.Lock()
        self._secrets: set[str] = set(secrets)
        self._sequence = 0
        self._callbacks: dict[str, dict[str, str | None]] = {}
        self._downloaded: set[str] = set()
        self._server: Any = None  # waitress's stubs lag its code, as in testing/server.py
        self._thread: threading.Thread | None = None
        self.paths: list[Path] = []

    # -- lifecycle ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://host:port` the proxy listens on."""
        if self._server is None:
            raise RuntimeError("the recorder is not running")
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def public_url(self) -> str:
        """The origin the upstream is told to send callbacks to."""
        return (self._public_url or self.base_url).rstrip("/")

    def start(self) -> Recorder:
        """Bind and serve; returns once connections are accepted."""
        if self._server is not None:
            return self
        self.out.mkdir(parents=True, exist_ok=True)
        server: Any = create_server(
            self, host=self.host, port=self._port, threads=self.threads,
            ident="apixo-mock-record", _start=True,
        )  # fmt: skip
        self._server = server
        self._thread = threading.Thread(target=server.run, name="apixo-mock-record", daemon=True)
        self._thread.start()
        _wait_until_accepting(self.host, int(self.base_url.rsplit(":", 1)[1]))
        return self

    def close(self) -> None:
        """Stop serving; idempotent."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.task_dispatcher.shutdown(timeout=10)
            _stop_loop(server)
        if thread is not None:
            thread.join(timeout=10)
        self._http.clear()

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- WSGI --------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith(CALLBACK_PREFIX):
            response = self._relay(request, request.path[len(CALLBACK_PREFIX) :])
        else:
            response = self._forward(request)
        return response(environ, start_response)

    def _forward(self, request: Request) -> Response:
        """Send the request upstream, record the exchange, answer what the upstream said."""
        recorded, started = self.clock(), time.perf_counter()
        raw = request.get_data()
        sent, callback_id = self._rewrite_callback(request, raw)
        url = self.upstream + quote(request.path, safe="/:@!$&'()*+,;=-._~%")
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        status, headers, body = self._send(request.method, url, sent, request.headers.items())
        elapsed = (time.perf_counter() - started) * 1000
        document = _document("api", recorded, elapsed, request, raw, (status, headers, body))
        _mark_failure(document, headers)
        task_id = _task_id(request, document)
        document["taskId"] = task_id
        if callback_id is not None:
            self._remember_callback(callback_id, task_id, document)
        self._write(_label(request), document, request.headers.items())
        if self.download and status == 200 and task_id:
            self._download(task_id, document["response"]["body"])
        return Response(body, status=status, headers=list(headers.items()))

    def _send(
        self,
        method: str,
        url: str,
        body: bytes,
        headers: Iterable[tuple[str, str]],
        timeout: urllib3.Timeout | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One upstream request; a connection failure becomes a 502 envelope."""
        try:
            answer = self._http.request(
                method, url, body=body or None, headers=forwardable(headers),
                timeout=timeout or self._timeout, redirect=False, preload_content=True,
            )  # fmt: skip
        except urllib3.exceptions.HTTPError as exc:
            log.warning("upstream %s unreachable: %s", url, exc)
            error = {
                "code": 502,
                "message": f"recording proxy: upstream failed: {exc}",
                "data": None,
            }
            made = {"Content-Type": "application/json", PROXY_ERROR_HEADER: "1"}
            return 502, made, json.dumps(error).encode()
        return answer.status, forwardable(answer.headers.items()), answer.data

    def _rewrite_callback(self, request: Request, raw: bytes) -> tuple[bytes, str | None]:
        """Point a callback submit at the proxy; returns the body to send and the callback id."""
        if request.method != "POST" or "/generateTask/" not in request.path:
            return raw, None
        try:
            body = json.loads(raw)
        except ValueError:
            return raw, None
        if not (isinstance(body, dict) and _relayable(body)):
            return raw, None  # the upstream judges anything else exactly as the client sent it
        with self._lock:
            callback_id = f"cb{len(self._callbacks) + 1:04d}"
            self._callbacks[callback_id] = {"url": body["callback_url"], "taskId": None}
        body["callback_url"] = self.public_url + CALLBACK_PREFIX + callback_id
        return json.dumps(body).encode(), callback_id

    def _remember_callback(
        self, callback_id: str, task_id: str | None, document: dict[str, Any]
    ) -> None:
        with self._lock:
            entry = self._callbacks[callback_id]
            entry["taskId"], entry["model"] = task_id, document.get("model")
        document["callback"] = {
            "original": entry["url"],
            "forwarded": self.public_url + CALLBACK_PREFIX + callback_id,
        }

    def _relay(self, request: Request, callback_id: str) -> Response:
        """Record the upstream's callback, pass it to the original URL, answer with its reply."""
        with self._lock:
            entry = dict(self._callbacks.get(callback_id) or {})
        if not entry:
            error = {"code": 404, "message": f"no recorded callback {callback_id}", "data": None}
            return Response(json.dumps(error), status=404, mimetype="application/json")
        recorded, started = self.clock(), time.perf_counter()
        raw = request.get_data()
        url = str(entry["url"])
        status, headers, body = self._send(
            request.method, url, raw, request.headers.items(), _CALLBACK_TIMEOUT
        )
        elapsed = (time.perf_counter() - started) * 1000
        document = _document("callback", recorded, elapsed, request, raw, (status, headers, body))
        _mark_failure(document, headers)
        target = urlsplit(url)
        document["request"].update(path=target.path or "/", url=url)
        document["taskId"] = entry.get("taskId") or _data_field(raw, "taskId")
        document["model"] = entry.get("model")
        self._write("callback", document, request.headers.items())
        return Response(body, status=status, headers=list(headers.items()))

    # -- files -------------------------------------------------------------------

    def _write(
        self, label: str, document: dict[str, Any], headers: Iterable[tuple[str, str]]
    ) -> None:
        """Redact and write one exchange under the next sequence number."""
        with self._lock:
            self._secrets.update(header_secrets(dict(headers)))
            self._sequence += 1
            clean = redact(document, self._secrets)
            self.paths.append(write_exchange(self.out, self._sequence, label, clean))

    def _download(self, task_id: str, body: Any) -> None:
        """Save a successful task's result files once, into DIR/results/."""
        with self._lock:
            if task_id in self._downloaded:
                return
        saved = download_results(self._http, body, task_id, self.out / "results")
        if saved:
            with self._lock:
                self._downloaded.add(task_id)


def _document(
    kind: str,
    recorded: int,
    elapsed: float,
    request: Request,
    raw: bytes,
    answer: tuple[int, Mapping[str, str], bytes],
) -> dict[str, Any]:
    """An exchange as written (before redaction)."""
    status, headers, body = answer
    query = {k: v[0] if len(v) == 1 else v for k, v in request.args.lists()}
    return {
        "version": 1,
        "kind": kind,
        "recordedAt": iso(recorded),
        "request": {
            "method": request.method,
            "path": request.path,
            "query": query,
            "headers": dict(request.headers.items()),
            "body": body_value(raw),
        },
        "response": {"status": status, "headers": dict(headers), "body": body_value(body)},
        "elapsedMs": round(elapsed, 3),
        "model": model_of(request.path),
        "taskId": None,
    }


def _relayable(body: Mapping[str, Any]) -> bool:
    """A callback submit whose callback_url is an absolute http(s) URL: worth relaying."""
    url = body.get("callback_url")
    if body.get("request_type") != "callback" or not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _mark_failure(document: dict[str, Any], headers: Mapping[str, str]) -> None:
    """Flag an exchange whose answer the proxy made up because the other side failed."""
    if PROXY_ERROR_HEADER in headers:
        document["proxyError"] = document["response"]["body"]["message"]


def _task_id(request: Request, document: Mapping[str, Any]) -> str | None:
    """The task an API exchange is about: the submit's answer, else the taskId parameter."""
    found = _data_field(document["response"]["body"], "taskId")
    return found or request.args.get("taskId") or None


def _data_field(body: Any, name: str) -> str | None:
    """`body.data[name]` of an envelope (raw bytes or parsed), or None."""
    if isinstance(body, bytes):
        body = body_value(body)
    data = body.get("data") if isinstance(body, dict) else None
    value = data.get(name) if isinstance(data, dict) else None
    return str(value) if isinstance(value, str) and value else None


def _label(request: Request) -> str:
    """What a file name says the exchange is."""
    path = request.path
    if "/generateTask/" in path:
        return "submit"
    if "/statusTask/" in path:
        return "status"
    if path.endswith("/current-balance"):
        return "balance"
    return request.method.lower()


def run_until_stopped(recorder: Recorder, say: Callable[[str], None]) -> int:
    """`apixo-mock record`: serve until Ctrl-C or SIGTERM; returns the exit code."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        recorder.start()
    except OSError as exc:
        say(f"apixo-mock record: cannot listen on {recorder.host}: {exc}")
        return 2
    say(
        f"apixo-mock record: {recorder.base_url} -> {recorder.upstream}, writing {recorder.out}"
        f" (callbacks via {recorder.public_url}); Ctrl-C stops"
    )
    try:
        while not stop.wait(0.5):  # a bounded wait keeps Ctrl-C responsive
            pass
    except KeyboardInterrupt:
        pass
    finally:
        recorder.close()
        signal.signal(signal.SIGTERM, previous)
    say(f"apixo-mock record: {len(recorder.paths)} exchanges written to {recorder.out}")
    return 0
