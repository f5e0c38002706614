"""Where Pulse keeps its state, read once from the environment.

Every path the project writes to derives from two settings:

- ``PULSE_HOME``: the project-local state directory (default ``<repo>/.pulse``): the embedded
  Postgres data, Airflow's home, pid files and logs.
- ``PULSE_LAKE_ROOT``: the lake (default ``$PULSE_HOME/lake``), with bronze/, silver/ and gold/ zones.

Nothing else in the code names a host, a path or a credential: those come from Airflow connections.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SPARK_JOBS_DIR = REPO_ROOT / "spark_jobs"
SQL_DIR = REPO_ROOT / "include" / "sql"


def pulse_home() -> Path:
    """The project-local state directory."""
    return Path(os.environ.get("PULSE_HOME", REPO_ROOT / ".pulse")).resolve()


def lake_root() -> str:
    """The lake's root: a local directory, or a URI for Spark when the lake is remote."""
    return os.environ.get("PULSE_LAKE_ROOT", str(pulse_home() / "lake"))


def dist_dir() -> Path:
    """Where build artefacts shipped to Spark (the zipped ``spark_jobs`` package) are written."""
    return pulse_home() / "dist"
