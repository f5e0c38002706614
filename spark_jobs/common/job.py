"""What every Pulse Spark application shares: its arguments, its session and where the lake's zones are.

A job is ``main(argv)``: parse :class:`JobArgs`, get the session with :func:`spark_session`, read, call
pure ``DataFrame -> DataFrame`` functions, write. Paths are URIs built from ``--lake-root`` (a local
directory or ``abfss://…``/``hdfs://…``), so a job assumes nothing about the driver's working directory.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from datetime import date

from pyspark.sql import SparkSession

log = logging.getLogger("pulse.spark")


@dataclass(frozen=True)
class JobArgs:
    lake_root: str
    run_date: date
    source: str
    extra: dict[str, str]
    run_id: str = ""
    """The run that started the job (Airflow's run id), recorded beside what it writes."""
    full_refresh: bool = False
    """Rebuild from all of bronze instead of reading what bronze committed since the last run."""

    def zone(self, zone: str, dataset: str | None = None) -> str:
        """``<lake>/<zone>/<source>[/<dataset>]``."""
        return zone_uri(self.lake_root, zone, self.source, dataset)


def zone_uri(lake_root: str, zone: str, source: str, dataset: str | None = None) -> str:
    base = f"{lake_root.rstrip('/')}/{zone}/{source}"
    return f"{base}/{dataset}" if dataset else base


def parse_args(argv: list[str] | None, description: str, options: dict[str, str] | None = None) -> JobArgs:
    """The arguments every job takes (``--lake-root``, ``--run-date``, ``--source``), plus ``options``:
    job-specific ``--name`` flags with their default values, returned as strings in ``extra``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--lake-root", required=True, help="the lake's root: a directory or a URI")
    parser.add_argument("--run-date", required=True, type=date.fromisoformat, help="the run's date, YYYY-MM-DD")
    parser.add_argument("--source", required=True, help="the source's name, e.g. creator")
    parser.add_argument("--run-id", default="", help="the run that started the job (default: manual__<run date>)")
    parser.add_argument("--full-refresh", default="false", choices=("true", "false", "True", "False"),
                        help="rebuild from all of bronze (default: false, read what changed since the last run)")
    for name, default in (options or {}).items():
        parser.add_argument(f"--{name}", default=default)
    ns = parser.parse_args(argv)
    extra = {name: getattr(ns, name.replace("-", "_")) for name in (options or {})}
    return JobArgs(ns.lake_root, ns.run_date, ns.source, extra, ns.run_id or f"manual__{ns.run_date.isoformat()}",
                   ns.full_refresh.lower() == "true")


# The settings a job's results depend on, set by the job itself whoever submits it (spark-submit from
# Airflow, a notebook, a test). How the job runs (master, memory, partitions) is the submitter's.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",  # every timestamp in the lake is UTC
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",  # readable by every Parquet reader
    # Every Delta table a job creates keeps a Change Data Feed from its first commit: incremental gold reads
    # silver's, the warehouse's slice load gold's (a table made before gets it from ensure_change_feed).
    "spark.databricks.delta.properties.defaults.enableChangeDataFeed": "true",
}

# Delta Lake, the lake's table format. Static settings: they take effect only when the session starts, and
# the jars (delta-spark, delta-storage) must be on its classpath (spark-submit --jars; `make jars`).
DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def spark_session(app_name: str, builder: SparkSession.Builder | None = None) -> SparkSession:
    """The session spark-submit configured, or one from ``builder``, with :data:`SESSION_CONF` and
    :data:`DELTA_CONF` set. Fails, saying why, when the session runs without Delta Lake."""
    builder = builder or SparkSession.builder
    for key, value in {**SESSION_CONF, **DELTA_CONF}.items():
        builder = builder.config(key, value)
    spark = builder.appName(app_name).getOrCreate()
    for key, value in SESSION_CONF.items():  # getOrCreate may return a session that was already running
        spark.conf.set(key, value)
    spark.sparkContext.setLogLevel("WARN")
    require_delta(spark)
    return spark


SMALL_INPUT_BYTES = "spark.pulse.smallInputBytes"
"""The Spark setting (given by the submitter: ``pulse.config.spark_conf``) under which a job's input counts as
small (bytes); absent or 0: never."""

SMALL_INPUT_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "1",
    "spark.databricks.delta.snapshotPartitions": "1",
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "1",
}
"""How a job runs on a small input: its cost is Spark's fixed work per query, not the data. Code generation
compiles Java for every query (interpreted evaluation skips it), adaptive execution re-plans between stages,
and every shuffle, Delta state reconstruction and file listing is split into tasks that each schedule a few
milliseconds for a handful of rows. Only runtime SQL settings: the job sets them on its session, and its results
do not depend on them (the test suite's runs with and without them give equal gold)."""


def fit_to_input(spark: SparkSession, uris: list[str]) -> bool:
    """Set :data:`SMALL_INPUT_CONF` on the session when the folders at ``uris`` (the zones the job reads and
    merges into) hold fewer bytes than :data:`SMALL_INPUT_BYTES` says, and say so in the log; otherwise leave
    the submitter's settings. Returns whether the input is small. The size is the folders' whole content (old
    versions and logs too): an upper bound, from one listing per folder and no Spark job."""
    limit = int(spark.conf.get(SMALL_INPUT_BYTES, "0") or 0)
    if limit <= 0:
        return False
    size = 0
    for uri in uris:
        path, fs = hadoop_path(spark, uri)
        if fs.exists(path):
            size += fs.getContentSummary(path).getLength()
    if size >= limit:
        log.info("spark: the input (%s) is %.1f MB, not under %s = %.1f MB: the submitter's settings stay",
                 ", ".join(uris), size / 1e6, SMALL_INPUT_BYTES, limit / 1e6)
        return False
    for key, value in SMALL_INPUT_CONF.items():
        spark.conf.set(key, value)
    log.info("spark: the input (%s) is %.1f MB, under %s = %.1f MB: settings for a small input: %s",
             ", ".join(uris), size / 1e6, SMALL_INPUT_BYTES, limit / 1e6,
             ", ".join(f"{k}={v}" for k, v in SMALL_INPUT_CONF.items()))
    return True


def require_delta(spark: SparkSession) -> None:
    """Raise a clear error when the session cannot read or write Delta tables."""
    extensions = spark.conf.get("spark.sql.extensions", "") or ""
    if DELTA_CONF["spark.sql.extensions"] not in extensions:
        raise RuntimeError("this Spark session was started without Delta Lake's extension "
                           f"({DELTA_CONF['spark.sql.extensions']}): start it with the settings of DELTA_CONF")
    try:
        spark.sparkContext._jvm.org.apache.spark.util.Utils.classForName("io.delta.tables.DeltaTable", True, False)
    except Exception as exc:  # py4j wraps the JVM's ClassNotFoundException
        raise RuntimeError("the Delta Lake jars are not on Spark's classpath: pass them with --jars "
                           "(`make jars` resolves them into $PULSE_HOME/jars)") from exc


def hadoop_path(spark: SparkSession, uri: str):
    """The Hadoop path of ``uri`` and its file system (local, ABFS, HDFS: whatever the URI names)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def write_json(spark: SparkSession, uri: str, value: object) -> None:
    """Write a small JSON document (counts, manifests) to ``uri`` through Hadoop's file system, so it
    works for a local lake and a remote one alike."""
    path, fs = hadoop_path(spark, uri)
    out = fs.create(path, True)
    try:
        out.write(json.dumps(value, indent=2, sort_keys=True, default=str).encode("utf-8"))
    finally:
        out.close()


def read_json(spark: SparkSession, uri: str) -> object | None:
    """The JSON document at ``uri``, or None when there is none."""
    path, fs = hadoop_path(spark, uri)
    if not fs.exists(path):
        return None
    stream = fs.open(path)
    try:
        reader = spark.sparkContext._jvm.java.io.BufferedReader(
            spark.sparkContext._jvm.java.io.InputStreamReader(stream, "UTF-8"))
        lines = []
        while (line := reader.readLine()) is not None:
            lines.append(line)
        return json.loads("\n".join(lines))
    finally:
        stream.close()


def path_exists(spark: SparkSession, uri: str) -> bool:
    path, fs = hadoop_path(spark, uri)
    return bool(fs.exists(path))
