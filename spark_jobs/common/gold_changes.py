"""Incremental gold: which silver rows changed since the last gold run, and the watermark that says which
silver and gold versions that run left.

- **What changed** is read from silver's **Change Data Feed** (``delta.enableChangeDataFeed``, which the
  silver job sets on the tables it writes incrementally): every row a MERGE inserted or updated, with its
  previous image, between the silver version the last gold run read and the one this run pins.
- **The watermark**: ``<lake>/gold/<source>/_watermarks``, a Delta table with one row per gold run: the
  silver version of each dataset it read, the gold version of each table it left, its mode and run id.
- **When gold rebuilds instead** (:attr:`GoldPlan.reason`): no watermark; ``--full-refresh``; the job's
  settings (thresholds, weights: ``GoldSettings``) differ from those the last run recorded, since every
  row gold holds was computed with them; a gold table
  is missing or was written since by something else (a rollback's RESTORE, a hand edit); or a silver
  dataset was rebuilt (a commit since the watermark that is not a MERGE: silver's own rebuild rewrites the
  whole table, so slices would be all of it anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.common.gold import first_per_key
from spark_jobs.common.incremental import RunMode, commit_actions, commit_versions, data_changes

WATERMARKS = "_watermarks"
WATERMARK_SCHEMA = T.StructType([
    T.StructField("silver_versions", T.MapType(T.StringType(), T.LongType())),
    T.StructField("gold_versions", T.MapType(T.StringType(), T.LongType())),
    T.StructField("mode", T.StringType()),
    T.StructField("run_date", T.DateType()),
    T.StructField("recorded_at", T.TimestampType()),
    T.StructField("settings", T.MapType(T.StringType(), T.StringType())),
])
CHANGE_TYPE, COMMIT_VERSION = "_change_type", "_commit_version"
NEW_IMAGES = ("insert", "update_postimage")
CHANGE_FEED_PROPERTY = "delta.enableChangeDataFeed"


@dataclass(frozen=True)
class GoldPlan(RunMode):
    """What one gold run reads: silver pinned at ``silver_versions``; since ``since`` (the versions the last
    run read) when incremental; otherwise all of it, for ``reason``."""

    silver_versions: dict[str, int]
    since: dict[str, int] = field(default_factory=dict)
    reason: str | None = None
    settings: dict[str, str] = field(default_factory=dict)


    def describe(self) -> str:
        if not self.incremental:
            return f"full rebuild from silver ({self.reason})"
        moved = {n: f"{self.since[n]} → {v}" for n, v in self.silver_versions.items() if self.since[n] != v}
        return f"incremental: silver versions {moved or 'unchanged'}"


def _last_mark(spark: SparkSession, gold_zone: str):
    uri = f"{gold_zone.rstrip('/')}/{WATERMARKS}"
    if not commit_versions(spark, uri):
        return None
    return spark.read.format("delta").load(uri).orderBy(F.col("recorded_at").desc()).first()


def _operations(spark: SparkSession, table: str, after: int, upto: int) -> list[str] | None:
    """The operations of the commits after ``after`` up to ``upto`` that changed data; None when a
    commit file is gone."""
    operations = []
    for version in range(after + 1, upto + 1):
        actions = commit_actions(spark, table, version)
        if actions is None:
            return None
        info = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        if any(k in a and a[k].get("dataChange", True) for a in actions for k in ("add", "remove")):
            operations.append(info.get("operation", "unknown"))
    return operations


def settings_changes(recorded: dict[str, str] | None, current: dict[str, str]) -> str | None:
    """What differs between the settings the last gold run recorded and this run's, as ``name a → b``
    (None when they are the same); a watermark from before settings were recorded differs."""
    if recorded is None:
        return "the last gold run recorded no settings"
    changed = [f"{name} {recorded.get(name, '(unset)')} → {current.get(name, '(unset)')}"
               for name in sorted({*recorded, *current}) if recorded.get(name) != current.get(name)]
    return ", ".join(changed) or None


def gold_plan(spark: SparkSession, gold_zone: str, silver: dict[str, str], gold: dict[str, str],
              full_refresh: bool = False, settings: dict[str, str] | None = None) -> GoldPlan:
    """The plan of this gold run: ``silver`` and ``gold`` map dataset and table names to their URIs;
    ``settings`` are the job's settings as strings (``GoldSettings.options()``), recorded with the run."""
    settings = dict(settings or {})
    versions = {}
    for name, uri in silver.items():
        found = commit_versions(spark, uri)
        if not found:
            raise FileNotFoundError(f"silver dataset {uri} does not exist: run the silver job first")
        versions[name] = found[-1]

    def rebuild(reason: str) -> GoldPlan:
        return GoldPlan(versions, {}, reason, settings)

    if full_refresh:
        return rebuild("--full-refresh")
    mark = _last_mark(spark, gold_zone)
    if mark is None:
        return rebuild("no gold run recorded yet")
    since, left = dict(mark["silver_versions"]), dict(mark["gold_versions"])
    recorded = mark.asDict().get("settings")
    if changed := settings_changes(dict(recorded) if recorded is not None else None, settings):
        return rebuild(f"gold settings changed since the last gold run ({changed})")
    for table, uri in gold.items():
        current = commit_versions(spark, uri)
        if table not in left or not current:
            return rebuild(f"gold table {table} is new or missing")
        changes = data_changes(spark, uri, left[table], current[-1]) if current[-1] >= left[table] else None
        if changes is None or changes.missing is not None or changes.data_changed or changes.schema_changed:
            return rebuild(f"gold table {table} was written since the last gold run (a rollback, a hand edit)")
    for name, uri in silver.items():
        if name not in since or versions[name] < since[name]:
            return rebuild(f"silver {name} is behind what the last gold run read")
        operations = _operations(spark, uri, since[name], versions[name])
        if operations is None:
            return rebuild(f"silver {name}'s log since version {since[name]} was cleaned up")
        if any(op != "MERGE" for op in operations):
            return rebuild(f"silver {name} was rebuilt since the last gold run ({', '.join(sorted(set(operations)))})")
        if operations and not has_change_feed(spark, uri):
            return rebuild(f"silver {name} has no change data feed ({CHANGE_FEED_PROPERTY})")
    return GoldPlan(versions, since, settings=settings)


def has_change_feed(spark: SparkSession, uri: str) -> bool:
    """Whether the Delta table at ``uri`` keeps a Change Data Feed. Its properties are read from the table's
    snapshot metadata (``SHOW TBLPROPERTIES``): no Spark job, where ``DeltaTable.detail()`` runs one."""
    properties = {row["key"]: row["value"] for row in spark.sql(f"SHOW TBLPROPERTIES delta.`{uri}`").collect()}
    return properties.get(CHANGE_FEED_PROPERTY, "false").lower() == "true"


def ensure_change_feed(spark: SparkSession, uri: str) -> None:
    """Turn on the Change Data Feed of the Delta table at ``uri`` (a metadata commit) unless it is on."""
    if not has_change_feed(spark, uri):
        spark.sql(f"ALTER TABLE delta.`{uri}` SET TBLPROPERTIES ('{CHANGE_FEED_PROPERTY}' = 'true')")


def changed_rows(spark: SparkSession, uri: str, since: int, upto: int) -> DataFrame | None:
    """The Change Data Feed of the table between ``since`` (excluded) and ``upto``: every inserted row, and
    each updated row's previous and new image (``_change_type``, ``_commit_version``); None when nothing
    changed."""
    if upto <= since:
        return None
    return (spark.read.format("delta").option("readChangeFeed", "true")
            .option("startingVersion", since + 1).option("endingVersion", upto).load(uri))


def without_unchanged_updates(changes: DataFrame, key: list[str] | tuple[str, ...], columns: list[str]) -> DataFrame:
    """The change feed without the updates that left ``columns`` as they were (a record served again by a
    later run: silver takes its newer version, the same values): gold, a function of those columns, has
    nothing to recompute for them."""
    values = F.sha2(F.to_json(F.struct(*columns)), 256)
    images = changes.select(*key, COMMIT_VERSION, CHANGE_TYPE, values.alias("_values"))
    before = images.where(F.col(CHANGE_TYPE) == "update_preimage").drop(CHANGE_TYPE).withColumnRenamed(
        "_values", "_before")
    after = images.where(F.col(CHANGE_TYPE) == "update_postimage").drop(CHANGE_TYPE).withColumnRenamed(
        "_values", "_after")
    unchanged = (before.join(after, [*key, COMMIT_VERSION]).where(F.col("_before") == F.col("_after"))
                 .select(*key, COMMIT_VERSION))
    return changes.join(unchanged, [*key, COMMIT_VERSION], how="left_anti")


def latest_images(changes: DataFrame, key: list[str] | tuple[str, ...]) -> DataFrame:
    """Each changed key's row as the last commit left it (its newest insert or post-update image), without
    the change feed's columns."""
    new = changes.where(F.col(CHANGE_TYPE).isin(*NEW_IMAGES))
    newest = first_per_key(new, key, [F.col(COMMIT_VERSION).desc()])
    return newest.drop(CHANGE_TYPE, COMMIT_VERSION, "_commit_timestamp")


def read_at(spark: SparkSession, uri: str, version: int) -> DataFrame:
    return spark.read.format("delta").option("versionAsOf", version).load(uri)


def record_gold_mark(spark: SparkSession, gold_zone: str, plan: GoldPlan, gold: dict[str, str], run_date: date) -> None:
    """Append this run's watermark, after every gold table is written."""
    left = {table: commit_versions(spark, uri)[-1] for table, uri in gold.items()}
    row = (plan.silver_versions, left, plan.mode, run_date, datetime.now(UTC).replace(tzinfo=None), plan.settings)
    # mergeSchema: a watermark table written before settings were recorded gains the column
    (spark.createDataFrame([row], WATERMARK_SCHEMA).coalesce(1).write.format("delta").mode("append")
     .option("mergeSchema", "true").save(f"{gold_zone.rstrip('/')}/{WATERMARKS}"))


def merge_rows(spark: SparkSession, rows: DataFrame, uri: str, key: list[str] | tuple[str, ...]) -> None:
    """Upsert ``rows`` (one per ``key``) into the gold table at ``uri`` in one commit."""
    from delta.tables import DeltaTable

    matches = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key)
    (DeltaTable.forPath(spark, uri).alias("t").merge(rows.alias("s"), matches)
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())


def replace_other_sources_rows(spark: SparkSession, rows: DataFrame, uri: str, key: list[str] | tuple[str, ...],
                               own_source: str) -> int:
    """Make the rows of the gold table at ``uri`` whose ``source`` is not ``own_source`` exactly ``rows`` (one
    per ``key``, none of ``own_source``), touching only what differs: the rows that are new or changed are
    upserted and the rows ``rows`` no longer has are deleted, in one MERGE commit; none when nothing differs.
    Returns the number of rows upserted or deleted.

    What differs is found here, not by the MERGE: a MERGE that also deleted "every row not in the source"
    (``whenNotMatchedBySource``) would read and rewrite every file of the table, and its commit, without change
    files, would read as the whole table changed to the warehouse's slice load."""
    from delta.tables import DeltaTable

    rows = rows.cache()
    current = spark.read.format("delta").load(uri).where(F.col("source") != own_source).select(*rows.columns)
    changed = rows.exceptAll(current).withColumn("_delete", F.lit(False))
    on = [F.col(f"r.{k}").eqNullSafe(F.col(f"c.{k}")) for k in key]
    gone = (current.alias("c").join(rows.alias("r"), on, "left_anti")
            .select(*(F.col(f"c.{k}").alias(k) for k in key)).withColumn("_delete", F.lit(True)))
    delta_rows = changed.unionByName(gone, allowMissingColumns=True).cache()
    count = delta_rows.count()
    if count:
        matches = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key) + f" AND t.source <> '{own_source}'"
        values = {c: f"s.`{c}`" for c in rows.columns}
        (DeltaTable.forPath(spark, uri).alias("t").merge(delta_rows.alias("s"), matches)
         .whenMatchedDelete(condition="s._delete").whenMatchedUpdate(set=values)
         .whenNotMatchedInsert(condition="NOT s._delete", values=values).execute())
    delta_rows.unpersist()
    rows.unpersist()
    return count
