"""Running ``airflow dags test`` in a subprocess against a given stack, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devstack.stack import connection_env, spark_connection
from pulse.config import spark_jars_dir
from tests.processes import run as run_bounded
from tests.spark_tuning import SHORT_JOB_ENV

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@dataclass
class AirflowRunner:
    """An Airflow home with a migrated metadata DB, and the environment to run DAGs in it."""

    home: Path

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__"))}
        env.update({
            "AIRFLOW_HOME": str(self.home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO)]),
            "PATH": os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]),
            "PULSE_HOME": str(self.home),
            # The Delta jars `make jars` resolved for this checkout (the run's own PULSE_HOME has none).
            "PULSE_SPARK_JARS_DIR": str(spark_jars_dir()),
            "PULSE_RETRY_DELAY_SECONDS": "1",
            "PULSE_SENSOR_POKE_SECONDS": "1",  # a sensor that met a fault asks again at once, not in 30 s
            "PULSE_SPARK_SHUFFLE_PARTITIONS": "4",
            "PULSE_SPARK_DRIVER_MEMORY": "1g",
            **SHORT_JOB_ENV,  # Spark tuned for tiny data; a run can ask for PULSE_DEFAULTS_ENV instead
        })
        return env

    def migrate(self) -> None:
        (self.home / "airflow").mkdir(parents=True, exist_ok=True)
        done = run_bounded(["airflow", "db", "migrate"], env=self.base_env(), timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    def run(self, args: list[str], env: dict[str, str], log_name: str) -> subprocess.CompletedProcess:
        """Run an ``airflow`` command with ``env``; its output is kept in ``<home>/<log_name>.log``."""
        done = run_bounded(args, env=env, timeout=1200)
        (self.home / f"{log_name}.log").write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
        return done

    def pulse_command(self, module_args: list[str], lake: Path, conns: dict,
                      log_name: str) -> subprocess.CompletedProcess:
        """``python -m <module_args>`` (a Pulse command, e.g. ``pulse.time_travel rollback creator``) with the
        environment a run of this home has: the same lake and connections."""
        env = self.base_env()
        env.update(connection_env(conns))
        env["PULSE_LAKE_ROOT"] = str(lake)
        done = run_bounded([sys.executable, "-m", *module_args], env=env, timeout=600)
        (self.home / f"{log_name}.log").write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
        return done

    def dags_test(self, dag_id: str, logical_date: str, conf: str, lake: Path, conns: dict,
                  extra_env: dict[str, str] | None = None, log_name: str = "run",
                  cwd: Path | None = None) -> subprocess.CompletedProcess:
        """``conns`` may replace ``spark_default`` (local[*] by default); ``cwd`` is the directory the run
        (and so the Spark driver) starts in, to show that nothing depends on it."""
        env = self.base_env()
        env.update(connection_env({"spark_default": spark_connection(), **conns}))
        env["PULSE_LAKE_ROOT"] = str(lake)
        env.update(extra_env or {})
        done = run_bounded(["airflow", "dags", "test", dag_id, logical_date, "-c", conf], env=env, timeout=1200,
                           cwd=cwd)
        (self.home / f"{log_name}.log").write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
        return done
