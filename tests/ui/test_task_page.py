"""The dashboard's page of tasks: newest first, filtered, paged by cursor, never all at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from mock_server.core import dashboard
from mock_server.core.dashboard import TaskFilter
from mock_server.core.errors import InvalidRequest
from mock_server.core.service import MockService

from ..conftest import AUTH, SUBMIT, submit_body

OTHER = {"Authorization": "Bearer other-key-9876"}
EXAMPLES = Path(__file__).parents[2] / "schemas" / "models"


def make(client: FlaskClient, prompt: str, headers: dict[str, str] = AUTH) -> str:
    answer = client.post(SUBMIT, json=submit_body(prompt=prompt), headers=headers)
    assert answer.status_code == 200, answer.get_json()
    task_id: str = answer.get_json()["data"]["taskId"]
    return task_id


def test_tasks_come_newest_first_and_pages_cover_every_task_once(
    client: FlaskClient, service: MockService
) -> None:
    made = [make(client, f"prompt {n}") for n in range(60)]
    first = service.task_page(TaskFilter(), size=25)
    second = service.task_page(TaskFilter(), before=first.older, size=25)
    third = service.task_page(TaskFilter(), before=second.older, size=25)
    seen = [row.task_id for page in (first, second, third) for row in page.rows]
    assert seen == made[::-1]
    assert third.older is None
    assert first.kept == 60


def test_filters_by_key_tail_model_text_and_state(
    client: FlaskClient, service: MockService
) -> None:
    mine = make(client, "A Lighthouse at dusk")
    theirs = make(client, "a harbour", OTHER)
    assert [r.task_id for r in service.task_page(TaskFilter(key="9876")).rows] == [theirs]
    assert [r.task_id for r in service.task_page(TaskFilter(text="lighthouse")).rows] == [mine]
    assert [r.task_id for r in service.task_page(TaskFilter(text=theirs[-6:])).rows] == [theirs]
    assert service.task_page(TaskFilter(model="sora-2")).rows == ()
    assert len(service.task_page(TaskFilter(model="gpt-image-1")).rows) == 2
    assert service.task_page(TaskFilter(state="success")).rows == ()
    service.advance_clock(600_000)
    assert len(service.task_page(TaskFilter(state="success")).rows) == 2


def test_an_unknown_state_or_page_size_is_refused(service: MockService) -> None:
    with pytest.raises(InvalidRequest) as state:
        TaskFilter(state="done")
    with pytest.raises(InvalidRequest) as size:
        service.task_page(TaskFilter(), size=7)
    assert state.value.data["error"].startswith("state:")
    assert size.value.data["error"].startswith("size:")


def test_rule_uses_count_how_often_each_rule_fired(
    client: FlaskClient, service: MockService
) -> None:
    service.load_scenario("content-moderation")
    uses = service.rule_uses()
    assert uses
    assert all(use.fired == 0 for use in uses)
    for n in range(3):
        client.post(SUBMIT, json=submit_body(prompt=f"nsfw {n}"), headers=AUTH)
    fired = {use.name: use.fired for use in service.rule_uses()}
    assert fired == {"nsfw": 3, "violence": 0}


def test_a_page_looks_at_most_at_the_scan_limit_and_says_where_to_search_on(
    client: FlaskClient, service: MockService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard, "SCAN_LIMIT", 10)
    rare = make(client, "the rare one")
    made = [make(client, f"common {n}") for n in range(15)]
    first = service.task_page(TaskFilter(text="rare"), size=25)
    assert (first.rows, first.limited) == ((), True)
    sequences = {row.task_id: row.sequence for row in service.task_page(TaskFilter()).rows}
    assert first.older == sequences[made[5]]  # the oldest task looked at
    second = service.task_page(TaskFilter(text="rare"), before=first.older, size=25)
    assert [row.task_id for row in second.rows] == [rare]
    assert (second.older, second.limited) == (None, False)


def test_the_tasks_page_offers_to_search_on_past_the_scan_limit(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard, "SCAN_LIMIT", 3)
    rare = make(client, "the rare one")
    for n in range(5):
        make(client, f"common {n}")
    html = client.get("/__admin/ui?q=rare").get_data(as_text=True)
    assert "No task matches" in html
    assert "Search older tasks" in html
    link = re.search(r'href="([^"]+)" rel="next"', html)
    assert link is not None
    older = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert rare in older


@pytest.mark.parametrize(
    ("model", "example", "tag", "media_type"),
    [
        ("sora-2", "text-to-video", "video", "video/mp4"),
        ("suno", "simple", "audio", "audio/mpeg"),
    ],
)
def test_a_video_or_audio_task_page_has_a_player_whose_file_answers(
    client: FlaskClient, service: MockService, model: str, example: str, tag: str, media_type: str
) -> None:
    body = (EXAMPLES / model / "examples" / f"{example}.request.json").read_bytes()
    answer = client.post(
        f"/api/v1/generateTask/{model}",
        data=body,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.get_json()
    task_id = answer.get_json()["data"]["taskId"]
    service.advance_clock(3_600_000)
    html = client.get(f"/__admin/ui/tasks/{task_id}").get_data(as_text=True)
    sources = re.findall(rf'<{tag} src="([^"]+)" controls', html)
    assert sources
    played = client.get(sources[0])
    assert played.status_code == 200
    assert played.mimetype == media_type


def test_key_usage_counts_the_tasks_each_key_made(
    client: FlaskClient, service: MockService
) -> None:
    make(client, "a calm lake")
    make(client, "a nude statue")
    make(client, "a harbour", OTHER)
    assert service.key_usage() == {"test-key-1234": 2, "other-key-9876": 1}
    html = client.get("/__admin/ui/keys").get_data(as_text=True)
    assert "Tasks kept" in html


def test_the_keys_page_shows_each_keys_requests_this_minute(
    client: FlaskClient, service: MockService
) -> None:
    make(client, "a calm lake")
    make(client, "a harbour")
    client.get("/api/v1/apikeys/current-balance", headers=AUTH)
    assert service.minute_usage(["test-key-1234", "never-seen"]) == {
        "test-key-1234": 3,
        "never-seen": 0,
    }
    html = client.get("/__admin/ui/keys").get_data(as_text=True)
    row = html[html.index("Requests this minute") :]
    assert re.search(r"<td>3</td>\s*<td>2</td>", row)  # 3 requests this minute, 2 tasks kept
