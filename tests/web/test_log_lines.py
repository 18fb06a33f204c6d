"""Access lines made cheaply: the same text as the general-purpose code would write."""

from __future__ import annotations

import logging
import re
import sys

from hypothesis import given
from hypothesis import strategies as st

from mock_server.logs import TEXT_FORMAT, TextFormatter
from mock_server.web.recorder import escaped

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
    made.msecs = (created - int(created)) * 1000
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
