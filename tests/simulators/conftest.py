"""Fixtures of the simulator tests."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.processes import free_port, start

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ServedSimulator:
    base_url: str
    returncode: int | None = None
    output: str = field(default="", repr=False)


@pytest.fixture
def simulator_command(tmp_path):
    """``with simulator_command(module, args, health_path) as served:`` runs ``python -m module --port …
    args`` as a person would, until the block ends; then SIGTERM, and ``served`` has the exit code and
    everything the process printed."""

    @contextmanager
    def serve(module: str, args: list[str], health_path: str) -> Iterator[ServedSimulator]:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO)])}
        child = start([sys.executable, "-m", module, "--port", str(port), *args], tmp_path / f"{module}.log", env=env)
        served = ServedSimulator(f"http://127.0.0.1:{port}")
        try:
            child.wait_until(f"{module} on port {port}",
                             lambda: requests.get(f"{served.base_url}/{health_path}", timeout=1).ok, timeout=30)
            yield served
        finally:
            child.process.send_signal(signal.SIGTERM)
            served.returncode = child.process.wait(timeout=10)
            child.stop()
            served.output = child.log.read_text()

    return serve
