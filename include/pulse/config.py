"""Every setting Pulse reads from its environment, in one place.

Paths derive from two settings:

- ``PULSE_HOME``: the project-local state directory (default ``<repo>/.pulse``): the embedded
  Postgres data, Airflow's home, pid files and logs.
- ``PULSE_LAKE_ROOT``: the lake (default ``$PULSE_HOME/lake``), with bronze/, silver/ and gold/ zones.

The others tune a run; each has a default that suits one machine:

- ``PULSE_<SOURCE>_INBOX`` (``$PULSE_HOME/inbox/<source>``): where people drop a source's files, a
  directory or a URI: ``PULSE_SPOTIFY_INBOX`` (listeners' streaming histories, in ``<listener>/``) and
  ``PULSE_CREATOR_INBOX`` (creators' YouTube Studio, Instagram and TikTok exports, in ``<account>/``).
- ``PULSE_INBOX_WAIT_SECONDS`` (600): how long an inbox's sensor waits for new files before the input
  is skipped.
- ``PULSE_API_WAIT_SECONDS`` (each API input's own, 1800 by default): how long an API input's sensor
  waits for the API to answer before the run fails (a host that refuses connections or does not resolve
  is reported with a WARNING at the first poke; the sensor goes on waiting).
- ``PULSE_SENSOR_POKE_SECONDS`` (API sensors 30, inbox sensors 60): how long a sensor waits before it
  asks again, the first time; an API sensor's wait grows exponentially from there.
- ``PULSE_HTTP_ATTEMPTS`` (10): tries per HTTP request (429, 5xx and broken answers are retried).
- ``PULSE_HTTP_RETRY_WAIT_SECONDS`` (0.5): the first wait before an HTTP retry; it doubles with each try,
  with as much again of random jitter.
- ``PULSE_HTTP_RETRY_MAX_WAIT_SECONDS`` (30): the longest wait between two tries, a ``Retry-After`` included.
- ``PULSE_HTTP_RETRY_BUDGET`` (1.0): retries one ingest may spend per page it received (beyond 20), so an
  API that fails most requests fails the run instead of being retried for hours.
- ``PULSE_RETRY_DELAY_SECONDS`` (30): the first delay before an Airflow task retry (it then grows).
- ``PULSE_SPARK_SHUFFLE_PARTITIONS`` (8), ``PULSE_SPARK_DRIVER_MEMORY`` (2g): how the Spark jobs run.
- ``PULSE_SPARK_CONF`` (``{}``): more Spark settings for every job, a JSON object (``{"spark.executor.memory": "4g"}``).
- ``PULSE_SPARK_PYTHON`` (this interpreter): the Python the Spark executors run (``PYSPARK_PYTHON``).
- ``PULSE_SPARK_JARS_DIR`` (``$PULSE_HOME/jars``): the jars (Delta Lake, hadoop-azure) ``make jars`` resolves from
  ``jars/pom.xml``; every spark-submit passes them (the Docker image bakes them in).

How the warehouse publish behaves beside BI readers (``pulse.warehouse.publish_gold``):

- ``PULSE_PUBLISH_LOCK_TIMEOUT_SECONDS`` (10): how long the publish waits for its locks (a BI query still
  reading a gold table) before it rolls back and tries again; also the longest a new reader waits for it.
- ``PULSE_PUBLISH_LOCK_ATTEMPTS`` (5): tries, with growing pauses between them, before the publish fails
  naming the sessions that held it up.
- ``PULSE_PUBLISH_IDLE_TIMEOUT_SECONDS`` (60): the server ends a publishing session left idle in its
  transaction that long (a stopped or lost run), releasing its locks.
- ``PULSE_WAREHOUSE_TCP_TIMEOUT_SECONDS`` (30): over TCP, the publishing connection gives up on a server
  that has not answered for that long (``tcp_user_timeout`` and keepalives). Its server session also
  checks every 5 s, while it waits for a lock, that its client is still there (PostgreSQL 14+).
- ``PULSE_STAGING_MAX_AGE_HOURS`` (24): a run's staging schema left behind longer than this (its run was
  killed) is dropped by the next staging of the same source.

Values are read when they are asked for, so a test or a task can set them. Nothing else in the code
names a host, a path or a credential: those come from Airflow connections.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SPARK_JOBS_DIR = REPO_ROOT / "spark_jobs"
SQL_DIR = REPO_ROOT / "include" / "sql"


def _setting(name: str, default: str) -> str:
    return os.environ.get(name) or default


def pulse_home() -> Path:
    """The project-local state directory."""
    return Path(_setting("PULSE_HOME", str(REPO_ROOT / ".pulse"))).resolve()


def lake_root() -> str:
    """The lake's root: a local directory, or a URI for Spark when the lake is remote."""
    return _setting("PULSE_LAKE_ROOT", str(pulse_home() / "lake"))


def dist_dir() -> Path:
    """Where build artefacts shipped to Spark (the zipped ``spark_jobs`` package) are written."""
    return pulse_home() / "dist"


def inbox_root(source_name: str) -> str:
    """Where people drop a source's files: ``PULSE_<SOURCE>_INBOX``, default ``$PULSE_HOME/inbox/<source>``."""
    return _setting(f"PULSE_{source_name.upper()}_INBOX", str(pulse_home() / "inbox" / source_name))


def inbox_wait_seconds(default: int = 600) -> int:
    return int(_setting("PULSE_INBOX_WAIT_SECONDS", str(default)))


def sensor_poke_seconds(default: int) -> int:
    """How long a sensor waits before asking again: ``PULSE_SENSOR_POKE_SECONDS``, else the sensor's own
    ``default``."""
    return int(_setting("PULSE_SENSOR_POKE_SECONDS", str(default)))


def api_wait_seconds(default: int) -> int:
    """How long an API input's sensor waits: ``PULSE_API_WAIT_SECONDS``, else the input's own ``default``."""
    return int(_setting("PULSE_API_WAIT_SECONDS", str(default)))


def http_attempts() -> int:
    return int(_setting("PULSE_HTTP_ATTEMPTS", "10"))


def http_retry_wait_seconds() -> float:
    return float(_setting("PULSE_HTTP_RETRY_WAIT_SECONDS", "0.5"))


def http_retry_max_wait_seconds() -> float:
    return float(_setting("PULSE_HTTP_RETRY_MAX_WAIT_SECONDS", "30"))


def http_retry_budget() -> float:
    return float(_setting("PULSE_HTTP_RETRY_BUDGET", "1.0"))


def retry_delay_seconds() -> float:
    return float(_setting("PULSE_RETRY_DELAY_SECONDS", "30"))


def spark_conf(extra: dict[str, str] | None = None) -> dict[str, str]:
    """How Pulse's Spark jobs run (spark-submit ``--conf``): Pulse's settings, then ``PULSE_SPARK_CONF``'s,
    then ``extra``'s. What their results depend on (time zone, timestamp type) the jobs set themselves:
    ``spark_jobs.common.job.SESSION_CONF``."""
    partitions = _setting("PULSE_SPARK_SHUFFLE_PARTITIONS", "8")
    layers = (spark_conf_overrides(), extra or {})
    overrides = {key: value for layer in layers for key, value in layer.items()}
    return {
        "spark.sql.shuffle.partitions": partitions,
        # Delta rebuilds a table's state from its log in 50 tasks, and VACUUM lists files in 10,000, by
        # default: sized for big tables on big clusters, they cost a small job most of its time.
        "spark.databricks.delta.snapshotPartitions": partitions,
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": partitions,
        "spark.sql.adaptive.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
        # Under this many bytes in the zones it reads (old versions included) a job sets
        # spark_jobs.common.job.SMALL_INPUT_CONF on its session (no code generation, one partition): at demo
        # scale (25-90 MB) Spark's fixed work per query is the cost, and they save ~30 %; at 10x the demo's
        # creators (139 MB in bronze and silver) a rebuild with them is ~7 % slower. 0: never.
        "spark.pulse.smallInputBytes": _setting("PULSE_SPARK_SMALL_INPUT_BYTES", str(128 * 1024 * 1024)),
        **overrides,
        # The driver JVM maps the classes `make jars` archived (spark_class_archive); Java options of
        # PULSE_SPARK_CONF and ``extra`` come after, so they win (-Xshare:off turns the archive off).
        DRIVER_JAVA_OPTIONS: " ".join(filter(None, (f"-XX:SharedArchiveFile={spark_class_archive()}",
                                                    *(layer.get(DRIVER_JAVA_OPTIONS) for layer in layers)))),
    }


DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"


def spark_class_archive() -> Path:
    """The JDK class-data-sharing archive of the classes a Spark job loads, which `make jars` builds beside the
    jars (``python -m pulse.spark_class_archive``). A driver JVM given it (:func:`spark_conf`) maps them instead
    of loading and verifying them one by one: a spark-submit starts and plans its first queries ~5 s sooner.
    A JVM ignores an archive that is missing (a driver on another machine) and, saying so in one warning line,
    one built for other jars or another JDK (`make jars` builds it again when the jars or packages change)."""
    return spark_jars_dir() / "spark-classes.jsa"


class SparkConfInvalid(ValueError):
    """``PULSE_SPARK_CONF`` is not a JSON object of Spark settings."""


def spark_conf_overrides() -> dict[str, str]:
    """``PULSE_SPARK_CONF``: a JSON object of Spark settings every job gets on top of :func:`spark_conf`'s
    (``{"spark.executor.memory": "4g"}``); the test suite uses it to tune Spark for its tiny data."""
    raw = _setting("PULSE_SPARK_CONF", "{}")
    try:
        overrides = json.loads(raw)
    except json.JSONDecodeError as err:
        raise SparkConfInvalid(f"PULSE_SPARK_CONF is not JSON ({err}): {raw[:200]}") from None
    if not isinstance(overrides, dict) or not all(str(k).startswith("spark.") for k in overrides):
        raise SparkConfInvalid(f'PULSE_SPARK_CONF must be a JSON object of "spark.*" settings: {raw[:200]}')
    return {str(key): value if isinstance(value, str) else json.dumps(value) for key, value in overrides.items()}


def delta_retention_hours() -> int:
    """How long VACUUM keeps the files of replaced Delta versions (``pulse_maintenance``): time travel and
    rollback reach that far back. At least 168 hours (7 days); the maintenance job refuses less."""
    return int(_setting("PULSE_DELTA_RETENTION_HOURS", "168"))


def spark_jars_dir() -> Path:
    return Path(_setting("PULSE_SPARK_JARS_DIR", str(pulse_home() / "jars")))


class SparkJarsMissing(RuntimeError):
    """The Delta Lake jars are not where Spark is told to find them."""


def spark_jars() -> list[str]:
    """The jars every Spark job gets (``spark-submit --jars``): those ``make jars`` resolved from
    ``jars/pom.xml``. Raises :class:`SparkJarsMissing`, saying what to do, when there are none."""
    folder = spark_jars_dir()
    jars = sorted(str(jar) for jar in folder.glob("*.jar")) if folder.is_dir() else []
    if not any(Path(jar).name.startswith("delta-spark_") for jar in jars):
        raise SparkJarsMissing(
            f"the Delta Lake jars are missing from {folder} (delta-spark and delta-storage, listed in "
            f"{REPO_ROOT / 'jars' / 'pom.xml'}): run `make jars` once, with Maven and network access, "
            "or point PULSE_SPARK_JARS_DIR at a folder that holds them")
    return jars


def spark_driver_memory() -> str:
    return _setting("PULSE_SPARK_DRIVER_MEMORY", "2g")


def spark_python() -> str:
    return _setting("PULSE_SPARK_PYTHON", sys.executable)


def java_home() -> str | None:
    """``JAVA_HOME``, where Spark's local JVM comes from when it is set (else ``java`` on PATH)."""
    return os.environ.get("JAVA_HOME") or None


def publish_lock_timeout_seconds() -> float:
    return float(_setting("PULSE_PUBLISH_LOCK_TIMEOUT_SECONDS", "10"))


def publish_lock_attempts() -> int:
    return int(_setting("PULSE_PUBLISH_LOCK_ATTEMPTS", "5"))


def publish_idle_timeout_seconds() -> float:
    return float(_setting("PULSE_PUBLISH_IDLE_TIMEOUT_SECONDS", "60"))


def warehouse_tcp_timeout_seconds() -> int:
    return int(_setting("PULSE_WAREHOUSE_TCP_TIMEOUT_SECONDS", "30"))


def staging_max_age_hours() -> float:
    return float(_setting("PULSE_STAGING_MAX_AGE_HOURS", "24"))
