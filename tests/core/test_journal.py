"""The request journal: a bounded ring buffer with filters."""

from __future__ import annotations

import pytest

from mock_server.core.journal import Entry, Journal
from mock_server.core.schemas import validator

SUBMIT = "/api/v1/generateTask/gpt-image-1"
STATUS = "/api/v1/statusTask/gpt-image-1"


def entry(n: int, path: str = SUBMIT, status: int = 200, task_id: str | None = None) -> Entry:
    return Entry(time=n, method="POST", path=path, status=status, latency_ms=1.5, task_id=task_id)


@pytest.fixture
def journal() -> Journal:
    filled = Journal(size=100)
    filled.record(entry(1, SUBMIT, 200, "task_a"))
    filled.record(entry(2, STATUS, 200, "task_a"))
    filled.record(entry(3, SUBMIT, 429))
    filled.record(entry(4, STATUS, 404, "task_b"))
    filled.record(entry(5, "/__admin/clock", 200))
    return filled


def times(entries: list[Entry]) -> list[int]:
    return [e.time for e in entries]


def test_journal_keeps_only_the_newest_entries_past_its_size() -> None:
    small = Journal(size=3)
    for n in range(1, 6):
        small.record(entry(n))
    assert times(small.entries()) == [3, 4, 5]


def test_entries_come_oldest_first(journal: Journal) -> None:
    assert times(journal.entries()) == [1, 2, 3, 4, 5]


def test_path_filter_matches_by_prefix(journal: Journal) -> None:
    assert times(journal.entries(path="/api/v1/")) == [1, 2, 3, 4]
    assert times(journal.entries(path=STATUS)) == [2, 4]


def test_status_filter(journal: Journal) -> None:
    assert times(journal.entries(status=200)) == [1, 2, 5]


def test_task_filter(journal: Journal) -> None:
    assert times(journal.entries(task_id="task_a")) == [1, 2]


def test_filters_combine(journal: Journal) -> None:
    assert times(journal.entries(path=STATUS, status=404, task_id="task_b")) == [4]
    assert journal.entries(path=SUBMIT, task_id="task_b") == []


def test_limit_keeps_the_newest_matches(journal: Journal) -> None:
    assert times(journal.entries(limit=2)) == [4, 5]
    assert times(journal.entries(path=SUBMIT, limit=1)) == [3]


def test_clear_empties_the_journal(journal: Journal) -> None:
    journal.clear()
    assert journal.entries() == []


def test_entry_json_is_camel_case_and_matches_the_admin_schema() -> None:
    data = Entry(7, "GET", STATUS, 200, 2.5, key="...abcd", task_id="task_a").to_json()
    assert data == {
        "time": 7,
        "method": "GET",
        "path": STATUS,
        "status": 200,
        "latencyMs": 2.5,
        "key": "...abcd",
        "taskId": "task_a",
        "reason": None,
    }
    assert list(validator("admin-journal-entry").iter_errors(data)) == []
