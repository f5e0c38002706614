"""Incremental Spotify silver: which bronze a run reads, the state that says what silver has read, and the
MERGE that replaces the rows of the groups a run recomputed.

Spotify silver datasets are each built from several bronze tables (plays from ``history`` and
``recently_played``; the catalogue from ``playlist_items``, ``recently_played``, ``albums`` and
``artists``), and a silver row merges several bronze rows field by field. So the state is kept per
*bronze* table, and silver is recomputed per **group** from the **copies**:

- **The watermark** (``<lake>/silver/spotify/_watermarks``, the creator's table and schema,
  :mod:`spark_jobs.common.incremental`): one append per run, with a row per bronze table
  (``dataset = "bronze:<name>"``: the version read, -1 when it did not exist) and a row per table the run
  wrote (``dataset = "table:<path>"``: the version it left). A run that stops before that append leaves
  tables the watermark does not know: the next run rebuilds.
- **What changed**: the bronze partitions (``listener``/``export``, ``listener``/``run_date`` or
  ``run_date``) that commits after the recorded version wrote, read from bronze's Delta log.
- **The copies** (``<lake>/silver/spotify/_copies/<dataset>``): every valid bronze row (or object) of a
  dataset, typed and normalised, with the columns that order and group it: what silver merges. A run
  appends the new rows' copies, recomputes the silver rows of the **groups** they touch from every copy
  of those groups, and MERGEs them (:func:`merge_groups`). A group is closed: its silver rows depend only
  on its own copies (see :mod:`spark_jobs.spotify.silver`, "Incremental runs").
- **When a run rebuilds** (:attr:`SilverPlan.reason`): ``--full-refresh``; no watermark; a bronze table
  is behind the recorded version, vanished, or its log since was cleaned up; a bronze commit replaced rows
  (removed files) or changed the schema; a table this job writes is missing, was written since by
  something else (a restore, a run that stopped before recording) or has other columns than the code's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.common.incremental import WATERMARK_SCHEMA, RunMode, commit_versions, data_changes, watermarks_uri
from spark_jobs.common.job import path_exists

BRONZE_MARK, TABLE_MARK = "bronze:", "table:"
NO_TABLE = -1
Partition = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class BronzeRead:
    """What a run reads of one bronze table: the version pinned (None: no table), and when incremental
    the partitions committed since the version the last run read."""

    table: str
    version: int | None
    partitions: tuple[Partition, ...] = ()


@dataclass(frozen=True)
class SilverPlan(RunMode):
    reads: dict[str, BronzeRead] = field(default_factory=dict)
    reason: str | None = None

    def describe(self) -> str:
        if not self.incremental:
            return f"full rebuild from all of bronze ({self.reason})"
        parts = {name: len(read.partitions) for name, read in self.reads.items()}
        return f"incremental: partitions committed since the last run per bronze table {parts}"


def last_marks(spark: SparkSession, silver_zone: str) -> dict[str, int]:
    """The versions the last recorded run read (bronze) and left (tables), by watermark name; empty when
    none was recorded."""
    uri = watermarks_uri(silver_zone)
    if not path_exists(spark, f"{uri}/_delta_log"):
        return {}
    frame = spark.read.format("delta").load(uri)
    latest = frame.agg(F.max("recorded_at")).first()[0]
    if latest is None:
        return {}
    rows = frame.where(F.col("recorded_at") == latest).collect()
    return {r["dataset"]: int(r["bronze_version"] if r["dataset"].startswith(BRONZE_MARK) else r["silver_version"])
            for r in rows}


def silver_plan(spark: SparkSession, silver_zone: str, bronze: dict[str, str], written: dict[str, str],
                columns: dict[str, list[str]], full_refresh: bool = False) -> SilverPlan:
    """This run's plan. ``bronze``: bronze table URIs by name; ``written``: the URIs of every table the job
    writes (silver, copies, quarantine), by name; ``columns``: the columns the code writes to some of them."""
    pinned = {name: (commit_versions(spark, uri) or [None])[-1] for name, uri in bronze.items()}

    def rebuild(reason: str) -> SilverPlan:
        return SilverPlan({name: BronzeRead(uri, pinned[name]) for name, uri in bronze.items()}, reason)

    if full_refresh:
        return rebuild("--full-refresh")
    marks = last_marks(spark, silver_zone)
    if not marks:
        return rebuild("no silver run recorded yet")
    for name, uri in written.items():
        versions, mark = commit_versions(spark, uri), marks.get(TABLE_MARK + name)
        if mark is None or not versions:
            return rebuild(f"{name} is new or missing")
        changes = data_changes(spark, uri, mark, versions[-1]) if versions[-1] >= mark else None
        if changes is None or changes.missing is not None or changes.data_changed or changes.schema_changed:
            return rebuild(f"{name} was written since the last recorded run by something else (a restore, a "
                           "hand edit, or a run that stopped before recording)")
        if name in columns and spark.read.format("delta").load(uri).columns != columns[name]:
            return rebuild(f"{name}'s columns are not the ones this code writes")
    reads = {}
    for name, uri in bronze.items():
        since, version = marks.get(BRONZE_MARK + name), pinned[name]
        if since is None:
            return rebuild(f"bronze {name} has no watermark")
        if version is None:
            if since != NO_TABLE:
                return rebuild(f"bronze {name} is gone")
            reads[name] = BronzeRead(uri, None)
            continue
        if version < since:
            return rebuild(f"bronze {name} is at version {version}, behind the {since} silver read "
                           "(was it restored or recreated?)")
        commits = data_changes(spark, uri, since, version)
        if commits.missing is not None:
            return rebuild(f"bronze {name}'s log of version {commits.missing} was cleaned up")
        if commits.schema_changed and since != NO_TABLE:  # a new table's first commit declares its schema
            return rebuild(f"bronze {name}'s schema changed")
        if commits.replaced:
            return rebuild(f"a commit replaced bronze {name} rows silver had read (a rerun or backfill)")
        reads[name] = BronzeRead(uri, version, tuple(sorted(commits.partition_values)))
    return SilverPlan(reads)


def in_partitions(frame: DataFrame, partitions: Iterable[Partition]) -> DataFrame:
    """The rows of ``frame`` in any of ``partitions`` (its partition columns compared with the log's text
    values, cast to the column's type)."""
    types = dict(frame.dtypes)
    condition = F.lit(False)
    for partition in partitions:
        one = F.lit(True)
        for column, value in partition:
            one = one & (F.col(column) == F.lit(value).cast(types[column]))
        condition = condition | one
    return frame.where(condition)


def record_marks(spark: SparkSession, silver_zone: str, plan: SilverPlan, written: dict[str, str], run_id: str,
                 run_date: date) -> None:
    """Append this run's watermark (one commit: a run is recorded whole or not at all)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [(BRONZE_MARK + name, read.table, NO_TABLE if read.version is None else read.version, NO_TABLE,
             plan.mode, run_id, run_date, now) for name, read in plan.reads.items()]
    rows += [(TABLE_MARK + name, uri, NO_TABLE, commit_versions(spark, uri)[-1], plan.mode, run_id, run_date, now)
             for name, uri in written.items()]
    (spark.createDataFrame(rows, WATERMARK_SCHEMA).coalesce(1).write.format("delta").mode("append")
     .save(watermarks_uri(silver_zone)))


def null_safe_semi(frame: DataFrame, keys: DataFrame, columns: Sequence[str]) -> DataFrame:
    """The rows of ``frame`` whose ``columns`` equal (nulls equal) those of a row of ``keys``."""
    keys = keys.select(*[F.col(c).alias(f"_k_{c}") for c in columns]).distinct()
    condition = None
    for c in columns:
        one = frame[c].eqNullSafe(keys[f"_k_{c}"])
        condition = one if condition is None else condition & one
    return frame.join(keys, condition, how="left_semi")


def merge_groups(spark: SparkSession, rows: DataFrame, gone: DataFrame | None, uri: str, key: Sequence[str]) -> dict:
    """One MERGE into the Delta table at ``uri``: ``rows`` (one per ``key``, the table's columns) inserted,
    or updated where a column differs; the keys of ``gone`` deleted. Returns the rows inserted, updated
    and deleted.

    Only what changes reaches the MERGE: the rows the table does not hold as they are (every column equal,
    nulls equal) and the keys of ``gone``. A row served again unchanged (the API's catalogue, every day)
    matches nothing, so Delta rewrites no file for it, and the change feed holds real changes only; when
    nothing changes no MERGE runs and the table keeps its version."""
    from delta.tables import DeltaTable

    columns = rows.columns
    same = [F.col(f"s.`{c}`").eqNullSafe(F.col(f"t.`{c}`")) for c in columns]
    # The table's rows that ``rows`` repeats as they are, found with ``rows`` as the join's build side (the
    # small one on a daily run), then ``rows`` without them.
    held = spark.read.format("delta").load(uri)
    unchanged = held.alias("t").join(rows.alias("s"), same, how="left_semi")
    changed = rows.alias("s").join(unchanged.alias("t"), same, how="left_anti")
    source = changed.withColumn("_gone", F.lit(False))
    if gone is not None:
        source = source.unionByName(gone.select(*key).withColumn("_gone", F.lit(True)), allowMissingColumns=True)
    source = source.cache()
    try:
        if source.isEmpty():
            return {"inserted": 0, "updated": 0, "deleted": 0}
        matches = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key)
        differs = "NOT (" + " AND ".join(f"t.`{c}` <=> s.`{c}`" for c in columns) + ")"
        values = {f"`{c}`": f"s.`{c}`" for c in columns}
        metrics = (DeltaTable.forPath(spark, uri).alias("t").merge(source.alias("s"), matches)
                   .whenMatchedDelete(condition="s._gone")
                   .whenMatchedUpdate(condition=differs, set=values)
                   .whenNotMatchedInsert(condition="NOT s._gone", values=values)
                   .execute().first())
    finally:
        source.unpersist()
    return {"inserted": int(metrics["num_inserted_rows"]), "updated": int(metrics["num_updated_rows"]),
            "deleted": int(metrics["num_deleted_rows"])}
