"""Dashboard fixtures: one headless chromium per session, a fresh served mock and page per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from mock_server.testing.receiver import CallbackReceiver
from mock_server.testing.server import MockServer

from .browser import Unavailable, axe_source, launched

WAIT_MS = 15_000  # how long a page condition may take on a loaded machine


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, driven by Playwright; skipped only if it is not installed."""
    try:
        with launched() as running:
            yield running
    except Unavailable as missing:
        pytest.skip(f"browser tests skipped: {missing}")


@pytest.fixture(scope="session")
def axe() -> str:
    """axe-core's source, to run in the page."""
    try:
        return axe_source()
    except Unavailable as missing:
        pytest.skip(f"accessibility check skipped: {missing}")


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    """A callback receiver on loopback."""
    with CallbackReceiver() as running:
        yield running


@pytest.fixture
def mock() -> Iterator[MockServer]:
    """A served mock on a free loopback port: frozen clock, seeded, callbacks not retried."""
    with MockServer(seed=3, callback_retries=0, profile="quick") as server:
        yield server


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context (cookies, cache) per test."""
    made = browser.new_context(viewport={"width": 1200, "height": 900})
    made.set_default_timeout(WAIT_MS)
    yield made
    made.close()


@pytest.fixture
def browser_with_axe(browser: Browser) -> Iterator[BrowserContext]:
    """A context that may inject axe-core, although the dashboard's CSP forbids inline scripts."""
    made = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    made.set_default_timeout(WAIT_MS)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A page in the test's context."""
    return context.new_page()
