"""``airflow standalone`` (what ``make airflow`` runs) in a temporary Airflow home, for the UI test.

Starts the api-server, scheduler, dag-processor and triggerer on a free port with SQLite metadata, and
tears all of them down: SIGTERM to its process group (every component shuts itself down on it), then
SIGKILL, then any process left that still runs with this Airflow home in its environment.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from pulse.stack import connection_env, spark_connection
from tests.e2e.airflow_runner import AirflowRunner


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Standalone:
    home: Path
    conns: dict
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def log(self) -> Path:
        return self.home / "standalone.log"

    def env(self) -> dict[str, str]:
        env = AirflowRunner(self.home).base_env()
        env.update(connection_env({"spark_default": spark_connection(), **self.conns}))
        env.update({
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            # The LocalExecutor starts one worker process per slot (32 by default): on a small CI machine
            # that starves the api-server, which the workers themselves call (the Execution API).
            "AIRFLOW__CORE__PARALLELISM": "2",
        })
        return env

    def launch(self) -> None:
        """Start ``airflow standalone`` (it migrates its database first); :meth:`wait_ready` waits for it."""
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(["airflow", "standalone"], env=self.env(), stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 300) -> None:
        """Wait until the api-server answers and the admin password has been generated."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"airflow standalone exited ({self.process.returncode}): see {self.log}")
            try:
                if requests.get(f"{self.url}/api/v2/monitor/health", timeout=2).ok and self.password():
                    return
            except (requests.ConnectionError, requests.Timeout, FileNotFoundError, json.JSONDecodeError):
                pass
            time.sleep(1)
        raise TimeoutError(f"airflow standalone did not answer on {self.url} within {timeout:.0f}s: see {self.log}")

    def password(self) -> str:
        path = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        return json.loads(path.read_text())["admin"]

    def token(self) -> str:
        answer = requests.post(f"{self.url}/auth/token", json={"username": "admin", "password": self.password()},
                               timeout=10)
        answer.raise_for_status()
        return answer.json()["access_token"]

    def stop(self) -> None:
        if self.process is None:
            return
        group = self.process.pid
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while self._living(lambda stat, entry: int(stat[2]) == group) and time.monotonic() < deadline:
                self.process.poll()  # reap standalone itself
                time.sleep(0.2)
        self.process.poll()
        strays = self._strays()
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while strays and time.monotonic() < deadline:  # SIGKILL is not instantaneous
            time.sleep(0.2)
            strays = self._strays()

    @staticmethod
    def _living(select) -> list[int]:
        """Processes that are not zombies and whose ``/proc/<pid>/stat`` fields after the command name
        (state, ppid, pgrp, …) satisfy ``select``."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if stat[0] != "Z" and select(stat, entry):
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
        return found

    def _strays(self) -> list[int]:
        """Processes still running with this Airflow home (a component that left the process group)."""
        marker = f"AIRFLOW_HOME={self.airflow_home}".encode()
        return self._living(lambda stat, entry: marker in (entry / "environ").read_bytes().split(b"\0"))
