"""The exchange file format: redaction, configured secrets, loading in order, clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mock_server.recording.exchange import (
    REDACTED,
    RecordingError,
    configured_secrets,
    header_secrets,
    load_recording,
    redact,
    write_exchange,
)


def test_redact_replaces_secret_headers_and_every_occurrence() -> None:
    headers = {"authorization": "Bearer sk-live-123456", "Accept": "*/*"}
    document: dict[str, Any] = {
        "request": {
            "headers": headers,
            "body": {"callback_url": "https://hooks.example/cb?key=sk-live-123456"},
        },
        "response": {"body": ["token sk-live-123456", "team-secret"]},
    }
    secrets = [*header_secrets(headers), "team-secret"]
    clean = redact(document, secrets)
    text = json.dumps(clean)
    assert "sk-live-123456" not in text
    assert "team-secret" not in text
    assert clean["request"]["headers"] == {"authorization": REDACTED, "Accept": "*/*"}
    assert clean["request"]["body"]["callback_url"].endswith("?key=REDACTED")
    assert document["request"]["headers"]["authorization"].startswith("Bearer sk")  # a copy


def test_configured_secrets_come_from_flags_and_the_environment() -> None:
    env = {"APIXO_RECORD_REDACT": "one, two,,"}
    assert configured_secrets(["flag"], env) == ["flag", "one", "two"]
    assert configured_secrets([], {}) == []


def test_a_recording_loads_in_sequence_order(tmp_path: Path) -> None:
    for number in (10, 2, 1):
        write_exchange(tmp_path, number, "status", {"version": 1, "request": {}, "response": {}})
    (tmp_path / "README.md").write_text("not an exchange")
    assert [e.name for e in load_recording(tmp_path)] == [
        "0001-status.json",
        "0002-status.json",
        "0010-status.json",
    ]


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "0001-submit.json").write_text("{not json")
    with pytest.raises(RecordingError, match=r"0001-submit\.json"):
        load_recording(tmp_path)
    (tmp_path / "0001-submit.json").write_text('{"version": 9}')
    with pytest.raises(RecordingError, match="not a version 1 exchange"):
        load_recording(tmp_path)
