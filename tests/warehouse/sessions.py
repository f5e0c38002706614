"""Helpers for tests with several PostgreSQL sessions at once: wait on a state, run a call in a thread."""

from __future__ import annotations

import threading
import time

import pytest

BOUND = 90  # seconds: far above any lock timeout used here; only reached when something waits forever


def wait_until(condition, what: str, bound: float = BOUND):
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    pytest.fail(f"gave up waiting until {what}")


def waiting_on_a_lock(conn, pid: int) -> bool:
    """Whether the session ``pid`` waits for a lock now (seen from the session ``conn``)."""
    return conn.execute("SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                        (pid,)).fetchone()[0]


def in_thread(target) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = target()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome
