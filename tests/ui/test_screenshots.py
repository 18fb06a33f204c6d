"""`make screenshots` keeps working: a decodable PNG of every page, and the README shows one."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser

from mock_server.testing.receiver import CallbackReceiver
from mock_server.testing.server import MockServer

from . import screenshots
from .browser import ROOT


def test_the_screenshot_script_writes_a_png_of_every_page(browser: Browser, tmp_path: Path) -> None:
    with CallbackReceiver() as receiver, MockServer(seed=7, callback_retries=0) as mock:
        task_id = screenshots.traffic(mock, receiver)
        written = screenshots.photograph(browser, mock.base_url, task_id, tmp_path)
    names = sorted(path.name for path in written)
    assert names == sorted(f"dashboard-{page}.png" for page in [*screenshots.PAGES, "task"])
    for path in written:
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (1200, 760)


def test_the_committed_screenshots_are_every_page_and_the_readme_shows_the_tasks_page() -> None:
    committed = sorted(path.name for path in (ROOT / "docs" / "img").glob("dashboard-*.png"))
    assert committed == sorted(f"dashboard-{page}.png" for page in [*screenshots.PAGES, "task"])
    assert "docs/img/dashboard-tasks.png" in (ROOT / "README.md").read_text(encoding="utf-8")
