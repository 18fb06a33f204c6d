"""The dashboard in a real browser (headless chromium) against a served mock.

Every wait is on a page condition with a deadline (Playwright's expect), never
a sleep. Each test proves one thing a developer does with the dashboard.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from mock_server.testing.receiver import CallbackReceiver
from mock_server.testing.server import MockServer

from .browser import describe, serious_violations
from .flows import KEY, created, submit, ui

PAGES = ("", "/callbacks", "/scenarios", "/clock", "/keys", "/models")


def test_tasks_created_through_the_api_appear_without_a_reload(
    mock: MockServer, page: Page
) -> None:
    page.goto(ui(mock))
    expect(page.locator("#task-rows")).to_contain_text("No task matches")
    page.evaluate("() => { window.stillTheSamePage = true; }")

    ids = [created(mock, f"a lighthouse at dusk {n}") for n in range(3)]

    rows = page.locator("#task-rows tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(ids[-1])  # newest first
    expect(page.locator("#task-rows")).to_contain_text("...7c41")  # the key, masked
    expect(page.locator("#task-rows")).not_to_contain_text(KEY)
    assert page.evaluate("() => window.stillTheSamePage === true")  # no navigation happened


def test_advancing_the_clock_on_the_clock_page_moves_a_task_on_in_the_list(
    mock: MockServer, context: BrowserContext
) -> None:
    task_id = created(mock, "a red bicycle")
    tasks = context.new_page()
    tasks.goto(ui(mock, f"?q={task_id}"))
    state = tasks.locator("#task-rows .state")
    expect(state).to_have_text("pending")

    clock = context.new_page()
    clock.goto(ui(mock, "/clock"))
    before = clock.locator("#clock-now").inner_text()
    clock.get_by_role("button", name="+5 min").click()
    expect(clock.get_by_role("status")).to_have_text("Advanced 5 min")
    assert clock.locator("#clock-now").inner_text() != before

    expect(state).to_have_text("success")  # the open list caught up by itself


def test_a_task_page_shows_its_thumbnails_and_they_load(mock: MockServer, page: Page) -> None:
    task_id = created(mock, "two teacups on a table", images=2)
    mock.advance(300)
    images: list[Response] = []
    page.on("response", lambda r: images.append(r) if "/results/" in r.url else None)

    page.goto(ui(mock, f"/tasks/{task_id}"))

    expect(page.locator("#task-state")).to_have_text("success")
    thumbs = page.locator(".media img")
    expect(thumbs).to_have_count(2)
    # Every thumbnail loaded and decoded (a live refresh may swap the elements meanwhile).
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.media img'))"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    expect(page.locator("pre.json").first).to_contain_text('"state": "success"')
    # A live refresh that finds the results unchanged keeps the very same elements.
    page.evaluate("() => { document.querySelector('.media img').kept = true; }")
    page.wait_for_selector("#task-media[data-html]", state="attached")
    assert page.evaluate("() => document.querySelector('.media img').kept === true")
    assert sorted(r.status for r in images) == [200, 200]
    assert all(r.header_value("content-type") == "image/png" for r in images)


def test_redeliver_on_a_failed_callback_shows_the_new_attempt(
    mock: MockServer, receiver: CallbackReceiver, page: Page
) -> None:
    receiver.respond_with(status=500, times=5)
    task_id = created(
        mock, "a paper boat", request_type="callback", callback_url=receiver.url + "/hook"
    )
    mock.advance(300)
    assert receiver.wait_for(1, timeout_s=10)

    page.goto(ui(mock, "/callbacks"))
    row = page.locator("#callback-rows tr", has_text=task_id)
    expect(row.locator(".state")).to_have_text("failed")
    expect(row.locator(".attempt-count")).to_have_text("1")

    row.get_by_role("button", name=f"Redeliver the callback of {task_id}").click()

    expect(row.locator(".attempt-count")).to_have_text("2")
    assert receiver.wait_for(2, timeout_s=10)
    page.goto(ui(mock, f"/tasks/{task_id}"))
    attempts = page.locator("table.attempts tbody tr")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(1)).to_contain_text("500")


def test_setting_a_key_balance_to_zero_refuses_its_next_submit(
    mock: MockServer, page: Page
) -> None:
    created(mock, "a first task, which opens the key's account")
    page.goto(ui(mock, "/keys"))
    balance = page.get_by_label("Balance of ...7c41")
    balance.fill("0")
    page.get_by_role("button", name="Save ...7c41").click()
    expect(page.get_by_role("status")).to_have_text("Saved the key")
    expect(page.get_by_label("Balance of ...7c41")).to_have_value("0")

    refused = submit(mock, "one more")
    assert refused.status_code != 200
    assert "credit" in refused.text.lower() or "balance" in refused.text.lower()


def test_loading_a_shipped_scenario_shows_its_rules_and_clearing_removes_them(
    mock: MockServer, page: Page
) -> None:
    page.goto(ui(mock, "/scenarios"))
    page.get_by_label("Scenario").select_option("flaky")
    page.get_by_role("button", name="Load").click()
    expect(page.get_by_role("status")).to_have_text("Loaded scenario flaky")
    expect(page.locator("#h-active")).to_have_text("Active: flaky")
    page.get_by_role("button", name="Clear the scenario").click()
    expect(page.locator("#h-active")).to_have_text("Active: none")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "/tasks")
def test_every_page_has_no_serious_accessibility_violation(
    mock: MockServer, browser_with_axe: BrowserContext, axe: str, path: str
) -> None:
    created(mock, "a bowl of soup")
    page = browser_with_axe.new_page()
    page.goto(ui(mock, path))
    violations = serious_violations(page, axe)
    assert violations == [], describe(violations)


def test_a_task_page_has_no_serious_accessibility_violation(
    mock: MockServer, browser_with_axe: BrowserContext, axe: str, receiver: CallbackReceiver
) -> None:
    task_id = created(mock, "a kite", request_type="callback", callback_url=receiver.url + "/hook")
    mock.advance(300)
    page = browser_with_axe.new_page()
    page.goto(ui(mock, f"/tasks/{task_id}"))
    expect(page.locator(".media img")).to_have_count(1)
    violations = serious_violations(page, axe)
    assert violations == [], describe(violations)


def test_a_narrow_window_needs_no_sideways_scrolling(mock: MockServer, page: Page) -> None:
    created(mock, "a very long prompt " * 20)
    page.set_viewport_size({"width": 360, "height": 740})
    for path in PAGES:
        page.goto(ui(mock, path))
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path or '/'} scrolls sideways by {overflow}px"
