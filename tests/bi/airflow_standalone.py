"""``airflow standalone`` (what ``make airflow`` runs) in a temporary Airflow home, for the UI test.

Starts the api-server, scheduler, dag-processor and triggerer on a free port with SQLite metadata, and
stops every one of them at the end, including any that left the process group (``tests.processes``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devstack.stack import connection_env, spark_connection
from tests.e2e.airflow_runner import AirflowRunner
from tests.processes import Child, free_port, start


@dataclass
class Standalone:
    home: Path
    conns: dict
    port: int = field(default_factory=free_port)
    child: Child | None = None

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
            # The DAG files do not change during the test: parse each once, not again every 30 s (each parse
            # imports Pulse and its providers, CPU the test's own runs need on a small CI machine).
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            # The LocalExecutor starts one worker process per slot (32 by default): on a small CI machine
            # that starves the api-server, which the workers themselves call (the Execution API).
            "AIRFLOW__CORE__PARALLELISM": "2",
        })
        return env

    def launch(self) -> None:
        """Start ``airflow standalone`` (it migrates its database first); :meth:`wait_ready` waits for it."""
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        self.child = start(["airflow", "standalone"], self.log, env=self.env())

    def wait_ready(self, timeout: float = 300) -> None:
        """Wait until the api-server answers and the admin password has been generated."""
        self.child.wait_until(f"airflow standalone on {self.url}", self._ready, timeout, every=1)

    def _ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/api/v2/monitor/health", timeout=2).ok and bool(self.password())
        except (requests.RequestException, json.JSONDecodeError):
            return False

    def password(self) -> str:
        path = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        return json.loads(path.read_text())["admin"]

    def token(self) -> str:
        answer = requests.post(f"{self.url}/auth/token", json={"username": "admin", "password": self.password()},
                               timeout=30)
        answer.raise_for_status()
        return answer.json()["access_token"]

    def stop(self) -> None:
        """SIGTERM to every component (each shuts itself down on it), SIGKILL after 30 s."""
        if self.child is not None:
            self.child.stop(grace=30)
