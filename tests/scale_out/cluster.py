"""A real Spark standalone cluster on localhost, started from the pyspark wheel: one master, one worker.

The master and the worker are the same classes a team runs on its own machines
(``org.apache.spark.deploy.master.Master`` and ``…worker.Worker``, launched by ``spark-class``), bound to
127.0.0.1 on free ports and kept small (a worker of ``cores`` cores and ``memory`` for executors), so the
e2e tests can send one DAG run's Spark jobs to ``spark://127.0.0.1:<port>`` through ``spark_default``.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyspark

from tests.processes import Child, free_port, start

SPARK_HOME = Path(pyspark.__file__).parent
START_TIMEOUT = 90


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


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> Child:
    # tagged, so that stopping it stops the JVM and the executors it forks, and nothing else
    return start([str(SPARK_HOME / "bin" / "spark-class"), *args], log, env=env)


@contextmanager
def standalone_cluster(workdir: Path, cores: int = 2, memory: str = "1g") -> Iterator[StandaloneCluster]:
    """Start a master and one worker in ``workdir`` (logs, the worker's scratch space); yield the cluster
    once the worker has joined; stop both (and their executors) however the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(workdir), "SPARK_DAEMON_MEMORY": "256m", "SPARK_NO_DAEMONIZE": "1"}
    port, master_ui, worker_ui = free_port(), free_port(), free_port()
    cluster = StandaloneCluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{master_ui}", workdir)
    processes: list[Child] = []
    try:
        master = _spawn(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                         "--webui-port", str(master_ui)], workdir / "master.log", env)
        processes.append(master)
        master.wait_until("the Spark master", lambda: cluster.state()["status"] == "ALIVE", START_TIMEOUT)
        worker = _spawn(["org.apache.spark.deploy.worker.Worker", cluster.master_url, "--host", "127.0.0.1",
                         "--cores", str(cores), "--memory", memory, "--webui-port", str(worker_ui),
                         "--work-dir", str(workdir / "work")], workdir / "worker.log", env)
        processes.append(worker)
        worker.wait_until("the Spark worker joining the master",
                          lambda: any(w["state"] == "ALIVE" for w in cluster.state()["workers"]), START_TIMEOUT)
        yield cluster
    finally:
        for process in reversed(processes):
            process.stop()
