"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright, every step bounded.

Playwright's waits (``goto``, ``wait_for``, ``click``, ``screenshot``…) take the context's default
timeouts, set here for every context. Some calls take no timeout at all: ``new_context``, ``new_page``
and ``close`` can wait forever on a stuck renderer. Those run under a watchdog that kills this browser's
processes when they overrun, so the pending call raises instead of hanging the test run.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tests.processes import PROCESS_TAG, terminate_tagged

CHROMIUM = os.environ.get("PULSE_CHROMIUM", "/usr/bin/chromium")
# As root (CI) Chromium needs --no-sandbox; the background-networking flags keep it off the closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
STEP_TIMEOUT_MS = 60_000  # any one Playwright wait, on a loaded 2-core machine
WATCHDOG_SECONDS = 60  # the calls without a timeout of their own


class BrowserKilled(RuntimeError):
    """A Playwright call without a timeout overran, and the browser was killed to end it."""


class BoundedBrowser:
    """One headless Chromium whose every step ends: a context-wide timeout on each wait, a watchdog on
    the calls that have none. A browser killed by the watchdog is started again on the next page."""

    def __init__(self, playwright):
        self._playwright = playwright
        self._browser = None
        self._tag = ""
        self.killed: list[str] = []  # what overran, for the test's message

    def _launch(self):
        if self._browser is None or not self._browser.is_connected():
            self._tag = uuid.uuid4().hex
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=STEP_TIMEOUT_MS,
                env={**os.environ, PROCESS_TAG: self._tag})
        return self._browser

    def _kill(self, what: str) -> None:
        self.killed.append(what)
        terminate_tagged(PROCESS_TAG, self._tag, grace=0)

    @contextmanager
    def watchdog(self, what: str, seconds: float = WATCHDOG_SECONDS) -> Iterator[None]:
        """Kill the browser if the block takes longer than ``seconds``; the block then raises
        :class:`BrowserKilled` naming ``what``."""
        timer = threading.Timer(seconds, self._kill, args=(what,))
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception as error:
            if what in self.killed:
                raise BrowserKilled(f"{what} took more than {seconds:.0f} s: the browser was killed") from error
            raise
        finally:
            timer.cancel()

    @contextmanager
    def page(self, step_timeout_ms: float = STEP_TIMEOUT_MS, **context_options) -> Iterator:
        """A page in a fresh context (``context_options`` as for ``new_context``) whose every wait and
        navigation gives up after ``step_timeout_ms``; closed afterwards."""
        with self.watchdog("opening a browser page"):
            context = self._launch().new_context(**context_options)
            context.set_default_timeout(step_timeout_ms)
            context.set_default_navigation_timeout(step_timeout_ms)
            page = context.new_page()
        try:
            yield page
        finally:
            with self.watchdog("closing a browser page", 30):
                context.close()

    def close(self) -> None:
        if self._browser is not None and self._browser.is_connected():
            with self.watchdog("closing the browser", 30):
                self._browser.close()
        if self._tag:
            terminate_tagged(PROCESS_TAG, self._tag, grace=5)
