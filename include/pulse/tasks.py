"""What the pipeline's Python tasks do. The DAG factory wires these; they hold no Airflow wiring.

Each function takes plain values (a source, dates, params) so it can be tested without a DAG run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pulse import config
from pulse.config import REPO_ROOT, SPARK_JOBS_DIR, dist_dir, lake_root
from pulse.inputs import RunWindow
from pulse.simulator_scale import run_scale
from pulse.sources.base import Source

log = logging.getLogger(__name__)

WAREHOUSE_CONN_ID = "pulse_warehouse"
SPARK_CONN_ID = "spark_default"
# How often a publishing session's server checks, during a long wait, that its client is still there.
CLIENT_CHECK_INTERVAL_MS = 5000


def ingest_window(params: dict[str, Any], interval_end: datetime, default_lookback: int) -> tuple[date, date]:
    """The ``[start, end)`` dates a run asks the API for.

    Scheduled runs ask for their data interval (one day for ``@daily``). ``lookback_days`` widens
    the window backwards from the interval's end (late updates, first loads); ``start_date`` and
    ``end_date`` (exclusive) set it outright, for a backfill from the UI.
    """
    if params.get("start_date") and params.get("end_date"):
        start, end = date.fromisoformat(params["start_date"]), date.fromisoformat(params["end_date"])
    else:
        end = interval_end.date()
        start = end - timedelta(days=int(params.get("lookback_days") or default_lookback))
    if start >= end:
        raise ValueError(f"empty ingest window: start_date {start} is not before end_date {end}")
    return start, end


def run_window(params: dict[str, Any], interval_end: datetime, ds: str, default_lookback: int) -> RunWindow:
    """The :class:`~pulse.inputs.RunWindow` of a DAG run, from its params, data interval and ``ds``."""
    start, end = ingest_window(params, interval_end, default_lookback)
    return RunWindow(run_date=date.fromisoformat(ds), start=start, end=end, simulator_scale=run_scale(params))


def input_selected(source: Source, input_name: str, params: dict[str, Any]) -> bool:
    """Whether this run ingests ``input_name``: the run's ``inputs`` param (all inputs when absent)
    includes it, and it is available here (:meth:`~pulse.inputs.Input.unavailable`). When not, says why
    in the log; the input's wait and ingest are then skipped."""
    chosen = params.get("inputs")
    if chosen is not None and input_name not in chosen:
        log.info("input %r is not among the inputs chosen for this run (%s): its wait and ingest are skipped",
                 input_name, ", ".join(chosen) or "none")
        return False
    if reason := source.input(input_name).unavailable():
        log.info("input %r is skipped: %s", input_name, reason)
        return False
    return True


def spark_lake_root() -> str:
    """The lake as the Spark jobs get it: ``file:///…`` for a directory, the same on every Spark node."""
    from pulse.lake_storage import spark_uri

    return spark_uri(lake_root())


def java_problem() -> str | None:
    """Why Spark cannot start here, or None when a Java runtime is found."""
    java_home = config.java_home()
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return None
    if shutil.which("java"):
        return None
    return ("Java was not found: Spark needs a Java 17 runtime. Install one (Debian/Ubuntu: "
            "apt-get install openjdk-17-jre-headless) or set JAVA_HOME, then clear this task to rerun it. "
            "Bronze is kept; nothing was published.")


def package_spark_jobs(check_java: bool = True) -> str:
    """Zip the ``spark_jobs`` package for ``--py-files`` (what ships the jobs' shared code to Spark).

    Checks first that a local Spark can start at all and that the Delta Lake jars are there, so a
    missing Java or ``make jars`` fails here with a clear message rather than deep inside spark-submit."""
    if check_java and (problem := java_problem()):
        raise RuntimeError(problem)
    config.spark_jars()  # the Delta Lake jars: fails here, saying what to do, when they were never resolved
    target = dist_dir() / "spark_jobs.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(SPARK_JOBS_DIR.rglob("*.py")):
            zf.write(path, path.relative_to(REPO_ROOT))
    partial.replace(target)
    return str(target)


def spark_master() -> str:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(SPARK_CONN_ID).host or ""


class EmbeddedWarehouseDown(RuntimeError):
    """The ``pulse_warehouse`` connection is the embedded stack's server, and it is not running."""


def is_embedded_warehouse(host: str | None) -> bool:
    """Whether a ``pulse_warehouse`` host is the embedded stack's server: a Unix-socket directory under
    ``$PULSE_HOME``, or the runtime folder pgserver falls back to when that path is too long for a socket."""
    if not host or not host.startswith("/"):
        return False
    folder = Path(host)
    return folder.is_relative_to(config.pulse_home()) or "python_PostgresServer" in folder.parts


def embedded_socket_missing(host: str | None, port: int | None) -> str | None:
    """The socket path of the embedded warehouse when the connection names it and no server listens
    there; else None."""
    if not is_embedded_warehouse(host):
        return None
    socket = Path(host) / f".s.PGSQL.{port or 5432}"
    return None if socket.exists() else str(socket)


def warehouse_connection(publishing: bool = False):
    """A psycopg connection to ``pulse_warehouse``. A ``publishing`` one cannot outlive its run holding
    locks: the server ends it when it idles in a transaction (``idle_in_transaction_session_timeout``) or
    its client vanished (``client_connection_check_interval``), and over TCP the client gives up on a
    silent server (``tcp_user_timeout``, keepalives). Settings: :mod:`pulse.config`."""
    import psycopg
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    options = None
    if publishing:
        idle_ms = round(config.publish_idle_timeout_seconds() * 1000)
        options = (f"-c idle_in_transaction_session_timeout={idle_ms} "
                   f"-c client_connection_check_interval={CLIENT_CHECK_INTERVAL_MS}")
    hook = PostgresHook(postgres_conn_id=WAREHOUSE_CONN_ID, options=options)
    conn = hook.connection
    if publishing:
        tcp = config.warehouse_tcp_timeout_seconds()
        client = {"keepalives": 1, "keepalives_idle": max(1, tcp // 3), "keepalives_interval": max(1, tcp // 10),
                  "keepalives_count": 3, "tcp_user_timeout": tcp * 1000}
        conn.extra = json.dumps({**client, **conn.extra_dejson})  # the connection's own extras win
    try:
        return hook.get_conn()
    except psycopg.OperationalError as exc:
        if socket := embedded_socket_missing(conn.host, conn.port):
            raise EmbeddedWarehouseDown(f"the embedded warehouse is not running: run `make stack` (no server at "
                                        f"{socket})") from exc
        raise


def stage(source: Source, run_id: str) -> dict[str, int]:
    """Stage the source's gold in the run's own schema (:func:`pulse.warehouse.staging_schema`), after
    dropping the staging schemas killed runs left behind."""
    from pulse.lake import zone_path
    from pulse.warehouse import drop_stale_stagings, ensure_meta_tables, stage_gold, staging_schema

    conn = warehouse_connection()
    try:
        ensure_meta_tables(conn)
        drop_stale_stagings(conn, source.name, config.staging_max_age_hours())
        return stage_gold(conn, source.name, zone_path(lake_root(), "gold", source.name),
                          [t.name for t in source.gold_tables], keys={t.name: t.key for t in source.gold_tables},
                          staging=staging_schema(source.name, run_id), run_id=run_id)
    finally:
        conn.close()


def bi_grants_sql(source: Source) -> str:
    """The grants that let the read-only BI role read the source's gold tables and reporting views."""
    from pulse.bi_access import grants_sql

    return grants_sql([t.name for t in source.gold_tables], f"{source.name}_")


def reporting_sql(source: Source) -> str:
    """The source's reporting views, then the BI role's grants (:mod:`pulse.bi_access`): run in the
    publish transaction; ``refresh_reporting`` runs the same two again."""
    return source.reporting_sql() + bi_grants_sql(source)


def publish(source: Source, run_id: str, run_date: date) -> None:
    """Swap the run's staged gold into ``gold`` (:func:`pulse.warehouse.publish_gold`)."""
    from pulse.warehouse import publish_gold, staging_schema

    conn = warehouse_connection(publishing=True)
    try:
        publish_gold(conn, source.name, {t.name: t.key for t in source.gold_tables}, reporting_sql(source),
                     {"run_id": run_id, "run_date": run_date}, staging=staging_schema(source.name, run_id))
    finally:
        conn.close()


def powerbi_configured(source_name: str, conn_id: str = "powerbi_default") -> bool:
    """True when the Power BI connection exists and names ``source_name``'s dataset
    (``<source>_dataset_id`` in its extra); otherwise says, in the log, why the refresh is skipped."""
    from pulse.sensors import connection_defined

    if not connection_defined(conn_id):
        log.info("Power BI: no %r connection is defined, so the Power BI dataset refresh is skipped. "
                 "Add the connection (see README, 'Power BI') to refresh a dataset after each publish.", conn_id)
        return False
    from airflow.sdk import BaseHook

    if not BaseHook.get_connection(conn_id).extra_dejson.get(f"{source_name}_dataset_id"):
        log.info("Power BI: the %r connection names no %s_dataset_id, so no %s dataset is refreshed.",
                 conn_id, source_name, source_name)
        return False
    return True
