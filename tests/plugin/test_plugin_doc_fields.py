"""docs/pytest-plugin.md lists every field of TaskInfo, CallbackInfo and journal rows, no more."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from mock_server.core.journal import Entry
from mock_server.testing.handle import CallbackInfo, TaskInfo

DOC = Path(__file__).resolve().parents[2] / "docs" / "pytest-plugin.md"
TABLES = {
    "`TaskInfo`, from": (TaskInfo, {"result_urls"}),
    "`CallbackInfo`, one per": (CallbackInfo, set()),
    "A journal row": (Entry, set()),
}


def documented(intro: str) -> set[str]:
    """The names in the first column of the table that follows the line starting `intro`."""
    text = DOC.read_text(encoding="utf-8")
    after = text[text.index("\n" + intro) :].split("\n\n")[1]
    rows = [line for line in after.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}


@pytest.mark.parametrize("intro", list(TABLES))
def test_every_field_is_documented(intro: str) -> None:
    kind, extra = TABLES[intro]
    fields = {field.name for field in dataclasses.fields(kind)}
    assert documented(intro) == fields | extra
