"""Recorded exchanges: one JSON file per request and answer (or callback), secrets redacted.

A recording is a directory of `NNNN-<what>.json` files read back in order.
Each file is `{"version": 1, "kind": "api"|"callback", "recordedAt", "request",
"response", "elapsedMs", "model", "taskId"}`; bodies are JSON when they parse,
text otherwise. Redaction happens when a file is written, never on the wire:
the upstream still gets the real key.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

VERSION = 1
REDACTED = "REDACTED"
REDACT_ENV = "APIXO_RECORD_REDACT"
# Headers whose whole value is a credential, whatever it holds.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-apixo-mock-admin-token"})
_FILE = re.compile(r"^(\d+)-[\w.-]+\.json$")
_MODEL_PATH = re.compile(r"^/api/v1/(?:generateTask|statusTask)/([^/]+)$")


class RecordingError(ValueError):
    """A recording that cannot be read: names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One recorded file, as loaded."""

    name: str
    document: Mapping[str, Any]

    @property
    def kind(self) -> str:
        """'api' (client to upstream) or 'callback' (upstream to the client's receiver)."""
        return str(self.document.get("kind", "api"))

    @property
    def request(self) -> Mapping[str, Any]:
        """method, path, query, headers, body."""
        return dict(self.document.get("request") or {})

    @property
    def response(self) -> Mapping[str, Any]:
        """status, headers, body."""
        return dict(self.document.get("response") or {})

    @property
    def recorded_ms(self) -> int:
        """When it was recorded, as Unix milliseconds."""
        stamp = str(self.document.get("recordedAt", ""))
        return round(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)

    @property
    def task_id(self) -> str | None:
        """The task it is about, if any."""
        value = self.document.get("taskId")
        return str(value) if value else None

    @property
    def model(self) -> str | None:
        """The model in its path, if any."""
        value = self.document.get("model")
        return str(value) if value else None


def iso(ms: int) -> str:
    """Unix milliseconds as an ISO 8601 UTC timestamp with milliseconds."""
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def model_of(path: str) -> str | None:
    """The model id of a submit or status path, else None."""
    found = _MODEL_PATH.match(path)
    return found.group(1) if found else None


def body_value(raw: bytes) -> Any:
    """A body as stored: parsed JSON when it parses, else text (None when empty)."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def body_text(value: Any) -> str:
    """A stored body back as the text the wire carried (JSON re-serialised)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def configured_secrets(
    values: Iterable[str] = (), env: Mapping[str, str] | None = None
) -> list[str]:
    """Secrets to redact: `--redact` values plus the comma-separated APIXO_RECORD_REDACT."""
    env = os.environ if env is None else env
    from_env = [item.strip() for item in env.get(REDACT_ENV, "").split(",")]
    return [item for item in [*values, *from_env] if item]


def header_secrets(headers: Mapping[str, str]) -> list[str]:
    """The credentials in a set of headers: each secret header's value and its bare token."""
    found: list[str] = []
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS and value:
            found.append(value)
            token = value.split(None, 1)[-1]
            # A short token would redact innocent text everywhere; the header itself still goes.
            if len(token) >= 4:
                found.append(token)
    return found


def redact(document: Any, secrets: Iterable[str]) -> Any:
    """A copy with secret headers' values and every secret string replaced by REDACTED.

    Longest secrets first, so a key inside its own `Bearer <key>` header leaves no tail.
    """
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    return _redact(document, ordered)


def _redact(node: Any, secrets: list[str]) -> Any:
    if isinstance(node, str):
        for secret in secrets:
            node = node.replace(secret, REDACTED)
        return node
    if isinstance(node, list):
        return [_redact(item, secrets) for item in node]
    if isinstance(node, dict):
        return {
            _redact(str(key), secrets): (
                REDACTED if str(key).lower() in SECRET_HEADERS else _redact(value, secrets)
            )
            for key, value in node.items()
        }
    return node


def write_exchange(directory: Path, sequence: int, label: str, document: Any) -> Path:
    """Write one exchange as `NNNN-label.json` (already redacted by the caller)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{sequence:04d}-{label}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_recording(directory: str | os.PathLike[str]) -> list[Exchange]:
    """Every exchange of a recording directory, in recorded order; `RecordingError` if none."""
    folder = Path(directory)
    if not folder.is_dir():
        raise RecordingError(f"{folder}: not a directory")
    files = sorted(
        (int(found.group(1)), path)
        for path in folder.iterdir()
        if (found := _FILE.match(path.name)) and path.is_file()
    )
    if not files:
        raise RecordingError(f"{folder}: no recorded exchanges (NNNN-name.json files)")
    return [_load(path) for _, path in files]


def _load(path: Path) -> Exchange:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{path}: cannot read it as JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise RecordingError(f"{path}: not a version {VERSION} exchange")
    if not isinstance(document.get("request"), dict) or not isinstance(
        document.get("response"), dict
    ):
        raise RecordingError(f"{path}: needs request and response objects")
    return Exchange(path.name, document)
