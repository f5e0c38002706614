"""The browser tests cannot hang: a Playwright call that has no timeout of its own is ended by the watchdog
of ``tests/browser.py``, which kills the browser, and the next page gets a new one."""

from __future__ import annotations

import socket
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import BrowserKilled

pytestmark = pytest.mark.browser


def test_a_call_that_never_returns_is_ended_by_killing_the_browser_and_the_next_page_works(browser):
    with browser.page() as page:
        page.set_content("<h1>still here</h1>")
        started = time.monotonic()
        with pytest.raises(BrowserKilled, match="a promise that never settles"):
            with browser.watchdog("a promise that never settles", seconds=3):
                page.evaluate("() => new Promise(() => {})")  # evaluate has no timeout
        assert time.monotonic() - started < 60
    with browser.page() as page:
        page.set_content("<h1>a new browser</h1>")
        assert page.inner_text("h1") == "a new browser"


def test_every_wait_and_navigation_of_a_page_is_bounded_by_its_step_timeout(browser):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with browser.page(step_timeout_ms=1000) as page:
            page.set_content("<p>nothing else</p>")
            with pytest.raises(PlaywrightTimeout, match="Timeout 1000ms exceeded"):
                page.wait_for_selector("#never")
            with pytest.raises(PlaywrightTimeout, match="Timeout 1000ms exceeded"):
                page.goto(f"http://127.0.0.1:{silent.getsockname()[1]}/", wait_until="domcontentloaded")
