"""Incremental silver: which bronze a run has to read, and the watermark that says what silver has read.

A silver dataset built from one bronze Delta table is incremental:

- **The watermark.** After each run, ``<lake>/silver/<source>/_watermarks`` (a Delta table, appended to)
  records per dataset the bronze version it read and the silver version it wrote. It lives in the lake,
  beside silver, never in a local file.
- **What changed.** The bronze commits after the recorded version are read from bronze's Delta log: the
  ``run_date`` partitions their ``add`` actions wrote. An ingest commits one partition per commit (an
  overwrite of that partition), so the new rows are the current rows of those partitions, read at the
  version the run pinned.
- **When a run rebuilds instead** (:attr:`BronzeChanges.reason` says why, and the job logs it):
  there is no watermark yet; ``--full-refresh``; a commit *replaced* rows silver had already read (a
  rerun or backfill of an ingested date: a key may have lost its row, which a merge cannot see); bronze's
  schema changed; bronze's log since the watermark was cleaned up; silver's columns are not the ones the
  code writes (a field was declared since); or silver was written since by anything but this job's own
  runs and compaction (a restore, a hand edit). A rebuild reads all of bronze,
  exactly as a ``full_refresh`` does.

Commits that change no data (``dataChange: false``: OPTIMIZE's rewrites) are ignored on both sides.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.common.job import hadoop_path, path_exists

WATERMARKS = "_watermarks"
WATERMARK_SCHEMA = T.StructType([
    T.StructField("dataset", T.StringType()),
    T.StructField("bronze_table", T.StringType()),
    T.StructField("bronze_version", T.LongType()),
    T.StructField("silver_version", T.LongType()),
    T.StructField("mode", T.StringType()),
    T.StructField("run_id", T.StringType()),
    T.StructField("run_date", T.DateType()),
    T.StructField("recorded_at", T.TimestampType()),
])
_COMMIT_FILE = re.compile(r"^(\d{20})\.json$")
INCREMENTAL, FULL = "incremental", "full"


class RunMode:
    """A run's plan is incremental unless it has a ``reason`` to rebuild (silver's and gold's plans alike)."""

    reason: str | None

    @property
    def incremental(self) -> bool:
        return self.reason is None

    @property
    def mode(self) -> str:
        return INCREMENTAL if self.incremental else FULL


@dataclass(frozen=True)
class BronzeChanges(RunMode):
    """What one run of one dataset reads from its bronze table."""

    table: str
    """The bronze table's URI."""
    version: int
    """The bronze version the run reads (pinned, so a concurrent ingest cannot slip in half-read)."""
    since: int | None
    """The bronze version the last silver run read, or None when there was none."""
    run_dates: tuple[date, ...]
    """The partitions committed after ``since`` (incremental runs only)."""
    reason: str | None = None
    """Why this run rebuilds the dataset from all of bronze; None when it merges what changed."""


    def describe(self) -> str:
        """One line for the log: what is read and why."""
        if not self.incremental:
            return f"full rebuild from bronze version {self.version} ({self.reason})"
        dates = ", ".join(d.isoformat() for d in self.run_dates) or "none"
        return f"incremental: bronze versions {self.since} → {self.version}, partitions committed since: {dates}"


def _read_lines(spark: SparkSession, uri: str) -> list[str] | None:
    """The lines of a small text file through Hadoop's file system, or None when it does not exist."""
    path, fs = hadoop_path(spark, uri)
    if not fs.exists(path):
        return None
    jvm = spark.sparkContext._jvm
    stream = fs.open(path)
    try:
        reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
        lines = []
        while (line := reader.readLine()) is not None:
            lines.append(line)
        return lines
    finally:
        stream.close()


def commit_versions(spark: SparkSession, table: str) -> list[int]:
    """The versions whose commit files are in the table's ``_delta_log`` (ascending)."""
    path, fs = hadoop_path(spark, f"{table.rstrip('/')}/_delta_log")
    if not fs.exists(path):
        return []
    names = [status.getPath().getName() for status in fs.listStatus(path)]
    return sorted(int(m.group(1)) for name in names if (m := _COMMIT_FILE.match(name)))


def commit_actions(spark: SparkSession, table: str, version: int) -> list[dict] | None:
    """The actions of one commit (one JSON object per line), or None when its file was cleaned up."""
    lines = _read_lines(spark, f"{table.rstrip('/')}/_delta_log/{version:020d}.json")
    return None if lines is None else [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True)
class _Commits:
    """What the commits after a version did to the data."""

    data_changed: bool = False
    partitions: frozenset[str] = frozenset()
    """The ``run_date`` partitions files were added to or removed from."""
    partition_values: frozenset[tuple[tuple[str, str], ...]] = frozenset()
    """Every partition files were added to or removed from, as its sorted ``(column, value)`` pairs (a
    table partitioned by more than ``run_date``: ``listener`` and ``export``)."""
    replaced: bool = False
    """Whether a commit removed data files (replaced rows)."""
    schema_changed: bool = False
    missing: int | None = None
    """The first version whose commit file is gone (cleaned up), if any."""


def data_changes(spark: SparkSession, table: str, after: int, upto: int) -> _Commits:
    """What the commits after version ``after`` up to ``upto`` did to the table's data."""
    partitions: set[str] = set()
    values: set[tuple[tuple[str, str], ...]] = set()
    data_changed = replaced = schema_changed = False
    for version in range(after + 1, upto + 1):
        actions = commit_actions(spark, table, version)
        if actions is None:
            return _Commits(missing=version)
        for action in actions:
            kind, body = next(iter(action.items()))
            if kind in ("add", "remove") and body.get("dataChange", True):
                data_changed = True
                partition_values = body.get("partitionValues") or {}
                partition = partition_values.get("run_date")
                partitions.update([partition] if partition else [])
                values.add(tuple(sorted(partition_values.items())))
                replaced = replaced or kind == "remove"
            elif kind == "metaData":
                schema_changed = True
    return _Commits(data_changed, frozenset(partitions), replaced=replaced, schema_changed=schema_changed,
                    partition_values=frozenset(values))


@dataclass(frozen=True)
class Watermark:
    bronze_version: int
    silver_version: int


def watermarks_uri(silver_zone: str) -> str:
    return f"{silver_zone.rstrip('/')}/{WATERMARKS}"


def last_watermark(spark: SparkSession, silver_zone: str, dataset: str) -> Watermark | None:
    """What the last silver run of ``dataset`` read from its bronze table, or None. (The table beside it is
    the lake's own: the same lake may be named by a path or a ``file://`` URI, so the URI recorded in
    ``bronze_table`` is for people, not matched.)"""
    uri = watermarks_uri(silver_zone)
    if not path_exists(spark, f"{uri}/_delta_log"):
        return None
    row = (spark.read.format("delta").load(uri).where(F.col("dataset") == dataset)
           .orderBy(F.col("silver_version").desc(), F.col("recorded_at").desc()).first())
    return Watermark(int(row["bronze_version"]), int(row["silver_version"])) if row else None


def ensure_watermarks(spark: SparkSession, silver_zone: str) -> None:
    """Create the (empty) watermark table unless it exists: two writers creating one Delta table at once
    conflict (``ProtocolChangedException``), two appending to it do not."""
    uri = watermarks_uri(silver_zone)
    if not commit_versions(spark, uri):
        spark.createDataFrame([], WATERMARK_SCHEMA).write.format("delta").mode("append").save(uri)


def record_watermark(spark: SparkSession, silver_zone: str, dataset: str, changes: BronzeChanges,
                     silver_version: int, run_id: str, run_date: date) -> None:
    """Append this run's watermark (a blind append: runs of two datasets at once do not conflict)."""
    row = (dataset, changes.table, changes.version, silver_version, changes.mode, run_id, run_date,
           datetime.now(UTC).replace(tzinfo=None))
    frame = spark.createDataFrame([row], WATERMARK_SCHEMA)
    frame.coalesce(1).write.format("delta").mode("append").save(watermarks_uri(silver_zone))


def bronze_changes(spark: SparkSession, silver_zone: str, dataset: str, bronze_table: str, silver_table: str,
                   full_refresh: bool = False, silver_columns: list[str] | None = None) -> BronzeChanges:
    """What this run of ``dataset`` reads from ``bronze_table``: the partitions committed since the
    watermark, or all of bronze with the reason (see the module docstring). ``silver_columns``: the
    columns this code writes; a silver table with others (a field was declared since) is rebuilt."""
    versions = commit_versions(spark, bronze_table)
    if not versions:
        raise FileNotFoundError(f"no Delta table at {bronze_table}")
    current = versions[-1]

    def rebuild(reason: str, since: int | None = None) -> BronzeChanges:
        return BronzeChanges(bronze_table, current, since, (), reason)

    if full_refresh:
        return rebuild("--full-refresh")
    mark = last_watermark(spark, silver_zone, dataset)
    if mark is None:
        return rebuild("no silver run recorded yet")
    silver_versions = commit_versions(spark, silver_table)
    if not silver_versions:
        return rebuild("silver does not exist", mark.bronze_version)
    if mark.bronze_version > current:
        return rebuild(f"bronze is at version {current}, behind the {mark.bronze_version} silver read "
                       "(was it restored or recreated?)", mark.bronze_version)
    if silver_columns is not None:
        stored = spark.read.format("delta").load(silver_table).columns
        if stored != list(silver_columns):
            return rebuild(f"silver's columns changed (the table has {len(stored)}, this code writes "
                           f"{len(silver_columns)})", mark.bronze_version)
    silver_changes = data_changes(spark, silver_table, mark.silver_version, silver_versions[-1])
    if silver_changes.missing is not None:
        return rebuild(f"silver's log of version {silver_changes.missing} was cleaned up", mark.bronze_version)
    if silver_versions[-1] < mark.silver_version or silver_changes.data_changed or silver_changes.schema_changed:
        return rebuild(f"silver was written since its last recorded run (version {mark.silver_version}) by "
                       "something else: a restore, a hand edit, or a run that stopped before recording",
                       mark.bronze_version)
    commits = data_changes(spark, bronze_table, mark.bronze_version, current)
    if commits.missing is not None:
        return rebuild(f"bronze's log of version {commits.missing} was cleaned up", mark.bronze_version)
    if commits.schema_changed:
        return rebuild("bronze's schema changed", mark.bronze_version)
    if commits.replaced:
        return rebuild("a commit replaced bronze rows silver had read (a rerun or backfill of an ingested date)",
                       mark.bronze_version)
    dates = tuple(sorted(date.fromisoformat(p) for p in commits.partitions if p))
    return BronzeChanges(bronze_table, current, mark.bronze_version, dates)


def read_changed_bronze(spark: SparkSession, changes: BronzeChanges) -> DataFrame:
    """The bronze rows this run reads: at the pinned version, only the changed partitions when
    incremental."""
    frame = spark.read.format("delta").option("versionAsOf", changes.version).load(changes.table)
    if changes.incremental:
        frame = frame.where(F.col("run_date").isin(list(changes.run_dates)) if changes.run_dates else F.lit(False))
    return frame


def newer_than_target(order: tuple[str, ...] | list[str], source: str = "s", target: str = "t") -> str:
    """A SQL condition: the source row's version is greater than the target row's, comparing ``order``
    left to right with a null below any value (:func:`~spark_jobs.common.silver.latest_versions`'s order)."""
    if not order:
        return "false"
    head, *rest = order
    s, t = f"{source}.`{head}`", f"{target}.`{head}`"
    greater = f"({s} > {t} OR ({t} IS NULL AND {s} IS NOT NULL))"
    return f"({greater} OR ({s} <=> {t} AND {newer_than_target(rest, source, target)}))"
