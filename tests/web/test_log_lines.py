"""Access lines made cheaply: the same text as logging's general-purpose code would write."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.logs import (
    ACCESS_LOGGER,
    TEXT_FORMAT,
    AccessHandler,
    JsonFormatter,
    TextFormatter,
    direct_access_handler,
)
from mock_server.settings import Settings
from mock_server.web.app import create_app
from mock_server.web.recorder import access_log, escaped
from tests.conftest import AUTH

_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')


def record(created: float, message: str = "line", exc: bool = False) -> logging.LogRecord:
    """A record made at `created` (Unix seconds)."""
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    made = logging.LogRecord("apixo_mock.access", logging.INFO, __file__, 1, message, (), exc_info)
    made.created = created
    made.msecs = int((created - int(created)) * 1000) + 0.0  # as LogRecord works it out
    return made


@given(
    st.lists(st.floats(min_value=1e9, max_value=4e9, allow_nan=False), min_size=1, max_size=20).map(
        sorted
    )
)
def test_text_lines_match_logging_formatter(moments: list[float]) -> None:
    """Within a second and across seconds, the cached time gives logging's own text."""
    cached, plain = TextFormatter(), logging.Formatter(TEXT_FORMAT)
    for moment in moments:
        for made in (record(moment), record(moment + 0.25), record(moment + 1.0)):
            assert cached.format(made) == plain.format(made)


def test_text_lines_keep_tracebacks() -> None:
    """An error's traceback follows its line, as logging writes it."""
    made = record(1_767_965_610.929, "failed", exc=True)
    text = TextFormatter().format(made)
    assert text == logging.Formatter(TEXT_FORMAT).format(record(1_767_965_610.929, "failed", True))
    assert "ValueError: boom" in text


@given(st.text())
def test_escaping_skips_the_regex_only_when_it_would_change_nothing(text: str) -> None:
    """Control characters, quotes and backslashes are escaped, whatever the shortcut."""
    assert escaped(text) == _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()])
def test_direct_lines_read_as_logged_ones(formatter: logging.Formatter) -> None:
    """A line given to serve's access handler is written as a logged record would be."""
    line = json.dumps({"method": "GET", "status": 200})
    for moment in (1_767_965_610.929, 1_767_965_611.0004, 1_767_965_611.9996):
        direct, logged = io.StringIO(), io.StringIO()
        handler = AccessHandler(direct)
        handler.setFormatter(formatter)
        handler.emit_line(line, moment)
        other = AccessHandler(logged)
        other.setFormatter(formatter)
        other.handle(record(moment, line))
        assert direct.getvalue() == logged.getvalue()
        if isinstance(formatter, JsonFormatter):
            written = json.loads(direct.getvalue())
            assert {k: v for k, v in written.items() if k != "time"} == {
                "level": "info",
                "logger": ACCESS_LOGGER,
                "method": "GET",
                "status": 200,
            }
        else:
            assert direct.getvalue()[24:] == f"{ACCESS_LOGGER} {line}\n"


def test_recorder_hands_lines_to_serve_handler_without_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As serve configures logging, an access line makes no LogRecord and walks no logger tree."""
    written = io.StringIO()
    handler = AccessHandler(written)
    handler.setFormatter(TextFormatter())
    monkeypatch.setattr(access_log, "handlers", [handler])
    monkeypatch.setattr(access_log, "propagate", False)
    monkeypatch.setattr(access_log, "disabled", False)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a LogRecord was built")

    client = create_app(Settings(access_log=True)).test_client()
    level = access_log.level
    # setLevel, not the attribute: it also clears the logger's cached isEnabledFor answers.
    access_log.setLevel(logging.INFO)
    try:
        monkeypatch.setattr(logging.LogRecord, "__init__", refuse)
        client.get("/api/v1/apikeys/current-balance", headers=AUTH)
        assert direct_access_handler(access_log) is handler
    finally:
        monkeypatch.undo()
        access_log.setLevel(level)
    assert written.getvalue()[24:].startswith(
        f'{ACCESS_LOGGER} 127.0.0.1 "GET /api/v1/apikeys/current-balance" 200 '
    )
