"""The real browser the dashboard tests drive: Debian's chromium under Playwright, and axe-core.

Playwright's Python package drives the system chromium (`executable_path`);
it never downloads a browser. axe-core comes from npm into the gitignored
`.ui-deps/` folder (`make ui-deps`, or the first test that needs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).parents[2]
UI_DEPS = ROOT / ".ui-deps"
AXE = UI_DEPS / "node_modules" / "axe-core" / "axe.min.js"
AXE_PACKAGE = "axe-core@^4.10"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
# Impacts that fail the accessibility check (axe also reports minor and moderate ones).
BLOCKING = ("serious", "critical")


class Unavailable(Exception):
    """What the browser tests need cannot be had on this machine (the message says what)."""


def chromium_path() -> str:
    """Debian's chromium, or `Unavailable` naming how to install it."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise Unavailable("Debian's chromium is not installed (`make system-deps` installs it)")


@contextmanager
def launched() -> Iterator[Browser]:
    """Headless chromium, closed on exit; Playwright gives it a fresh profile folder."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=list(CHROMIUM_ARGS),
        )
        try:
            yield browser
        finally:
            browser.close()


def axe_source() -> str:
    """axe.min.js from npm's axe-core, installed into .ui-deps/ when it is missing."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise Unavailable("npm is not installed: axe-core cannot be installed")
        command = [npm, "install", "--prefix", str(UI_DEPS), "--no-audit", "--no-fund", AXE_PACKAGE]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0 or not AXE.exists():
            raise Unavailable(f"npm could not install {AXE_PACKAGE}: {done.stderr[-500:]}")
    return AXE.read_text(encoding="utf-8")


def serious_violations(page: Page, source: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=source)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results["violations"]
        if violation["impact"] in BLOCKING
    ]


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations as readable text for an assertion message."""
    return json.dumps(violations, indent=2)
