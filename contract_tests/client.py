"""A small HTTP client for the API under test, and one for the mock's admin API.

It honours 429 (Retry-After when given, else exponential backoff), lets
every answer be inspected by observers (the suite checks the envelope of
each one), and never hides an answer: a test that expects an error gets it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

import requests

DEFAULT_MODEL = "gpt-image-1"
SUBMIT_PATH = f"/api/v1/generateTask/{DEFAULT_MODEL}"
STATUS_PATH = f"/api/v1/statusTask/{DEFAULT_MODEL}"
BALANCE_PATH = "/api/v1/apikeys/current-balance"
ADMIN_TOKEN_HEADER = "X-Apixo-Mock-Admin-Token"
TIMEOUT_S = (10.0, 60.0)


class Auth(Enum):
    """How a request authenticates when it does not give a header itself."""

    KEY = "the client's key"
    NONE = "no Authorization header"


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """One answer of the target, read in full."""

    method: str
    url: str
    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        """The body parsed as JSON; ValueError if it is not JSON."""
        return json.loads(self.text)

    def header(self, name: str) -> str | None:
        """A header's value, case-insensitively, or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def brief(self) -> str:
        """`METHOD path -> status body`, short enough for an assertion message."""
        path = self.url.split("://", 1)[-1].partition("/")[2]
        body = self.text if len(self.text) <= 300 else self.text[:300] + "..."
        return f"{self.method} /{path} -> HTTP {self.status} {body}"


Observer = Callable[[ApiResponse], None]
Note = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before retrying a 429: Retry-After, else exponential backoff."""

    attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None and retry_after.strip().isdigit():
            return min(float(retry_after.strip()), self.max_delay_s)
        return float(min(self.base_delay_s * 2 ** (attempt - 1), self.max_delay_s))


@dataclass(frozen=True, slots=True)
class Transport:
    """What a client shares with its siblings: session, retry policy, observers, sleep."""

    session: requests.Session = field(default_factory=requests.Session)
    retry: RetryPolicy = RetryPolicy()
    observers: Sequence[Observer] = ()
    note: Note | None = None
    sleep: Callable[[float], None] = time.sleep
    # Called with a 429 the caller did not ask for (it may raise: see conftest).
    unasked_429: Callable[[ApiClient, ApiResponse], None] | None = None


class ApiClient:
    """Talks to the public API with one key (`with_key` gives a sibling with another)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        transport: Transport | None = None,
        model: str = DEFAULT_MODEL,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.transport = transport or Transport()
        self.model = model

    def with_key(self, key: str, base_url: str | None = None) -> ApiClient:
        """The same client speaking for another key (at another origin of the target if given)."""
        return ApiClient(base_url or self.base_url, key, self.transport, self.model)

    def with_model(self, model: str) -> ApiClient:
        """The same client submitting to and reading from another model's paths."""
        return ApiClient(self.base_url, self.key, self.transport, model)

    @property
    def submit_path(self) -> str:
        """`/api/v1/generateTask/<model>`."""
        return f"/api/v1/generateTask/{self.model}"

    @property
    def status_path(self) -> str:
        """`/api/v1/statusTask/<model>`."""
        return f"/api/v1/statusTask/{self.model}"

    def submit(self, body: Any, **options: Any) -> ApiResponse:
        """POST a JSON body to the model's submit endpoint."""
        return self.request("POST", self.submit_path, json_body=body, **options)

    def status(self, task_id: str | None, **options: Any) -> ApiResponse:
        """GET a task's status under the model's path (`None`: no taskId parameter at all)."""
        params = None if task_id is None else {"taskId": task_id}
        return self.request("GET", self.status_path, params=params, **options)

    def balance(self, **options: Any) -> ApiResponse:
        """GET the key's balance."""
        return self.request("GET", BALANCE_PATH, **options)

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: Auth | str = Auth.KEY,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        raw_body: bytes | None = None,
        retry_429: bool = True,
        content_type: str = "application/json",
    ) -> ApiResponse:
        """Send one request (retrying 429s unless told not to) and let observers see the answer."""
        has_body = json_body is not None or raw_body is not None
        headers = self._headers(auth, content_type if has_body else None)
        data = raw_body if raw_body is not None else _encode(json_body)
        for attempt in range(1, self.transport.retry.attempts + 1):
            answer = self._send(method, path, headers, params, data)
            if answer.status != 429 or not retry_429:
                return answer
            self._note_retry_after(answer)
            if self.transport.unasked_429 is not None:
                self.transport.unasked_429(self, answer)
            if attempt < self.transport.retry.attempts:
                wait = self.transport.retry.delay(attempt, answer.header("Retry-After"))
                self.transport.sleep(wait)
        return answer

    def download(self, url: str) -> requests.Response:
        """GET a result URL (no API key: result URLs are meant to be fetched as they are)."""
        return self.transport.session.get(url, timeout=TIMEOUT_S)

    def _headers(self, auth: Auth | str, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if auth is Auth.KEY:
            headers["Authorization"] = f"Bearer {self.key}"
        elif isinstance(auth, str):
            headers["Authorization"] = auth
        if content_type is not None:
            headers["Content-Type"] = content_type
        return headers

    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
        data: bytes | None,
    ) -> ApiResponse:
        reply = self.transport.session.request(
            method,
            self.base_url + path,
            headers=headers,
            params=params,
            data=data,
            timeout=TIMEOUT_S,
            allow_redirects=False,
        )
        # JSON is UTF-8 (RFC 8259) whatever charset the target claims.
        text = reply.content.decode("utf-8", errors="replace")
        answer = ApiResponse(method, reply.url, reply.status_code, dict(reply.headers), text)
        for observe in self.transport.observers:
            observe(answer)
        return answer

    def _note_retry_after(self, answer: ApiResponse) -> None:
        if self.transport.note is None:
            return
        value = answer.header("Retry-After")
        said = f"Retry-After: {value}" if value is not None else "no Retry-After header"
        self.transport.note("ratelimit.retry-after", f"{answer.method} -> 429 with {said}")


def _encode(body: Any) -> bytes | None:
    """JSON bytes for a body (None: no body)."""
    return None if body is None else json.dumps(body).encode()


class AdminUnsupported(RuntimeError):
    """The target's admin API lacks an endpoint the suite would use (404 or 405)."""


@dataclass(frozen=True, slots=True)
class Health:
    """What a target's `GET /__admin/health` answered, as far as the suite cares."""

    status: int  # 200 apixo-mock's health, 0 a 200 from something else, or the status
    any_key: bool = False  # the mock accepts every key: unknown-key rules cannot be checked


class AdminApi:
    """The mock's admin API: health (capability detection) and the clock."""

    def __init__(self, base_url: str, token: str | None, session: requests.Session) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session

    def health(self) -> Health:
        """What GET /__admin/health says: status 200 admin, 404 none, 401 token missing.

        A 200 counts only when its body is apixo-mock's health (status ok, a
        version and a settings summary): a gateway or catch-all route that
        answers 200 to any path must not pass for a mock, since a mock gets a
        far larger image budget. Anything else that answers 200 reads as 0.
        """
        reply = self._call("GET", "/__admin/health")
        if reply.status_code != 200:
            return Health(reply.status_code)
        try:
            data = reply.json().get("data") or {}
        except (ValueError, AttributeError):
            return Health(0)
        is_mock = isinstance(data, dict) and data.get("status") == "ok"
        if not (is_mock and {"version", "settings"} <= data.keys()):
            return Health(0)
        settings = data["settings"] if isinstance(data["settings"], dict) else {}
        return Health(200, any_key=settings.get("keys") == "any")

    def advance(self, ms: int) -> None:
        """Move the mock's clock forward by `ms` milliseconds."""
        self._checked("POST", "/__admin/clock/advance", {"ms": int(ms)})

    def account(self, key: str) -> dict[str, Any]:
        """One key's account as the mock keeps it (balance, caps)."""
        reply = self._checked("GET", f"/__admin/accounts/{key}")
        data = json.loads(reply.text, parse_float=Decimal)["data"]  # money stays exact
        return dict(data)

    def update_account(self, key: str, **changes: Any) -> None:
        """Set a key's balance and/or caps (`balance`, `rpm`, `maxUnfinished`)."""
        self._checked("PATCH", f"/__admin/accounts/{key}", changes)

    def _checked(self, method: str, path: str, body: Any = None) -> requests.Response:
        reply = self._call(method, path, body)
        if reply.status_code in (404, 405):
            raise AdminUnsupported(f"this mock's admin API has no {method} {path}")
        if reply.status_code >= 300:
            raise RuntimeError(f"admin {method} {path} answered {reply.status_code}: {reply.text}")
        return reply

    def _call(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {ADMIN_TOKEN_HEADER: self.token} if self.token else {}
        return self.session.request(
            method, self.base_url + path, json=body, headers=headers, timeout=TIMEOUT_S
        )
