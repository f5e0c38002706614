"""pytest plugin: no process started by the test run outlives it.

Before any test starts a child, the run gets a tag (``PULSE_TEST_RUN``) that every child inherits, and a
reaper process (:func:`tests.processes.start_reaper`) starts watching pytest. Fixtures still stop what they
start; the reaper is for when they cannot run: a hung test killed by pytest-timeout (whose ``thread``
method ends pytest with ``os._exit``), a Ctrl-C during a teardown, or ``kill -9`` of the whole run. It writes
what it had to kill to ``$PULSE_HOME/test-reaper.log``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from tests.processes import RUN_TAG, start_reaper

REPO = Path(__file__).resolve().parents[1]


_reaper = None  # kept referenced: the reaper runs until pytest is gone


def pytest_configure(config) -> None:
    global _reaper
    run_id = uuid.uuid4().hex
    os.environ[RUN_TAG] = run_id
    _reaper = start_reaper(run_id, Path(os.environ.get("PULSE_HOME", REPO / ".pulse")) / "test-reaper.log")
