"""`make screenshots`: a PNG of each dashboard page in docs/img/, from made-up traffic.

Serves a mock, sends it a little of everything through the API (tasks of two
keys, a moderated prompt under a scenario, callbacks that land and one that
fails), moves its clock on, and photographs each page in headless chromium.

    PYTHONPATH=. .venv/bin/python -m tests.ui.screenshots docs/img
"""

from __future__ import annotations

import sys
from pathlib import Path

import requests
from playwright.sync_api import Browser

from mock_server.testing.receiver import CallbackReceiver
from mock_server.testing.server import MockServer

from .browser import launched

PAGES = {
    "tasks": "",
    "callbacks": "/callbacks",
    "scenarios": "/scenarios",
    "clock": "/clock",
    "keys": "/keys",
    "models": "/models",
}
IMAGES_SHOWN = "() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
KEYS = ("sk-demo-app-4f2a", "sk-demo-batch-91c0")
PROMPTS = (
    "a lighthouse at dusk, oil painting",
    "two teacups on a wooden table",
    "a red bicycle against a blue wall",
    "a paper boat on a rainy street",
    "a fox in the snow, watercolour",
)


def traffic(mock: MockServer, receiver: CallbackReceiver) -> str:
    """Send the demo requests; the id of the task whose page is photographed."""
    mock.use_scenario("content-moderation")
    receiver.respond_with(status=500, times=1)
    failing = _submit(mock, KEYS[0], "a nude statue", 1, receiver.url + "/hooks/a")
    shown = _submit(mock, KEYS[0], PROMPTS[0], 2, receiver.url + "/hooks/b")
    for n, prompt in enumerate(PROMPTS[1:]):
        _submit(mock, KEYS[n % 2], prompt, 1, None)
    mock.advance(300)
    _submit(mock, KEYS[1], "a kite over the dunes", 1, None)
    assert failing
    return shown


def _submit(mock: MockServer, key: str, prompt: str, images: int, hook: str | None) -> str:
    body: dict[str, object] = {
        "input": {"mode": "gpt-image-1", "prompt": prompt, "num_images": images}
    }
    if hook is not None:
        body |= {"request_type": "callback", "callback_url": hook}
    answer = requests.post(
        f"{mock.base_url}/api/v1/generateTask/gpt-image-1",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    answer.raise_for_status()
    task_id: str = answer.json()["data"]["taskId"]
    return task_id


def photograph(browser: Browser, base: str, task_id: str, folder: Path) -> list[Path]:
    """One PNG per page (and the task page) into `folder`; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 760})
    written = []
    for name, path in {**PAGES, "task": f"/tasks/{task_id}"}.items():
        page.goto(f"{base}/__admin/ui{path}")
        page.wait_for_function(IMAGES_SHOWN)
        target = folder / f"dashboard-{name}.png"
        page.screenshot(path=str(target))
        written.append(target)
    page.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Write the PNGs into the folder named (default docs/img)."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0] if args else "docs/img")
    with (
        CallbackReceiver() as receiver,
        MockServer(seed=7, callback_retries=0) as mock,
        launched() as browser,
    ):
        task_id = traffic(mock, receiver)
        for written in photograph(browser, mock.base_url, task_id, folder):
            print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
