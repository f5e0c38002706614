"""A real Spark standalone cluster on localhost, started from the pyspark wheel: one master, one worker.

The master and the worker are the same classes a team runs on its own machines
(``org.apache.spark.deploy.master.Master`` and ``…worker.Worker``, launched by ``spark-class``), bound to
127.0.0.1 on free ports and kept small (a worker of ``cores`` cores and ``memory`` for executors), so the
e2e tests can send one DAG run's Spark jobs to ``spark://127.0.0.1:<port>`` through ``spark_default``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent
START_TIMEOUT = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StandaloneCluster:
    master_url: str
    webui_url: str
    logs: Path

    def state(self) -> dict:
        """The master's view of the cluster (its web UI's ``/json``): workers, running and completed apps."""
        with urllib.request.urlopen(f"{self.webui_url}/json", timeout=5) as response:
            return json.load(response)

    def application_names(self) -> list[str]:
        """Names of the applications that ran (or run) on the cluster, in submission order."""
        state = self.state()
        apps = state.get("completedapps", []) + state.get("activeapps", [])
        return [a["name"] for a in sorted(apps, key=lambda a: a.get("starttime", 0))]

    def connection(self) -> dict:
        """``spark_default`` pointing at this cluster, as an Airflow connection dict."""
        host, port = self.master_url.rsplit(":", 1)
        return {"conn_type": "spark", "host": host, "port": int(port), "extra": {"deploy-mode": "client"}}


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("wb") as out:
        # a session of its own, so the teardown signals the JVM and the executors it forks, and nothing else
        return subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_for(what: str, ready, processes: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for process, log in zip(processes, logs, strict=False):
            if process.poll() is not None:
                raise RuntimeError(f"{what}: {log.name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with suppress(OSError, ValueError):
            if ready():
                return
        time.sleep(0.5)
    raise RuntimeError(f"{what} within {START_TIMEOUT}s; logs in {logs[0].parent}")


@contextmanager
def standalone_cluster(workdir: Path, cores: int = 2, memory: str = "1g") -> Iterator[StandaloneCluster]:
    """Start a master and one worker in ``workdir`` (logs, the worker's scratch space); yield the cluster
    once the worker has joined; stop both (and their executors) however the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(workdir), "SPARK_DAEMON_MEMORY": "256m", "SPARK_NO_DAEMONIZE": "1"}
    port, master_ui, worker_ui = free_port(), free_port(), free_port()
    cluster = StandaloneCluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{master_ui}", workdir)
    processes: list[subprocess.Popen] = []
    logs = [workdir / "master.log", workdir / "worker.log"]
    try:
        processes.append(_spawn(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                                 str(port), "--webui-port", str(master_ui)], logs[0], env))
        _wait_for("the Spark master did not start", lambda: cluster.state()["status"] == "ALIVE",
                  processes, logs)
        processes.append(_spawn(["org.apache.spark.deploy.worker.Worker", cluster.master_url, "--host", "127.0.0.1",
                                 "--cores", str(cores), "--memory", memory, "--webui-port", str(worker_ui),
                                 "--work-dir", str(workdir / "work")], logs[1], env))
        _wait_for("the Spark worker did not join the master",
                  lambda: any(w["state"] == "ALIVE" for w in cluster.state()["workers"]), processes, logs)
        yield cluster
    finally:
        for process in reversed(processes):
            _stop(process)
