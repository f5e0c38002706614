"""Weekly upkeep of a source's Delta tables: compact small files, then vacuum what no version within the
retention needs (Delta's own ``OPTIMIZE`` and ``VACUUM``).

Every Delta table under ``<lake>/<zone>/<source>/`` (bronze, silver and its quarantine, gold) is found by
its ``_delta_log``. For each one:

- ``OPTIMIZE`` rewrites many small files into few large ones, in a new version (the data is unchanged,
  so readers and time travel see the same rows);
- ``VACUUM … RETAIN <hours> HOURS`` deletes the files that no version newer than the retention still
  uses. The retention is at least 168 hours (7 days): time travel and ``pulse.time_travel rollback``
  reach every version of the last week. Delta refuses a shorter one too
  (``spark.databricks.delta.retentionDurationCheck.enabled``); this job says so before it starts.

What it did per table (files before and after, files vacuumed) is printed as one JSON line per table.

    spark-submit … spark_jobs/common/maintenance.py --lake-root file:///… --run-date 2026-11-20 --source creator
"""

from __future__ import annotations

import json
import sys

from pyspark.sql import SparkSession

from spark_jobs.common.job import hadoop_path, parse_args, spark_session, zone_uri

ZONES = ("bronze", "silver", "gold")
MIN_RETENTION_HOURS = 168


def delta_tables(spark: SparkSession, root: str, depth: int = 3) -> list[str]:
    """The Delta tables at or below ``root`` (a directory holding ``_delta_log``), ``depth`` levels down at
    most; a table's own subdirectories (its partitions) are not searched."""
    path, fs = hadoop_path(spark, root)
    if not fs.exists(path) or not fs.getFileStatus(path).isDirectory():
        return []
    if fs.exists(spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path, "_delta_log")):
        return [root.rstrip("/")]
    if depth == 0:
        return []
    found = []
    for status in fs.listStatus(path):
        name = status.getPath().getName()
        if status.isDirectory() and not name.startswith((".", "_delta_log")):
            found += delta_tables(spark, f"{root.rstrip('/')}/{name}", depth - 1)
    return sorted(found)


def active_files(spark: SparkSession, table: str) -> int:
    return int(spark.sql(f"DESCRIBE DETAIL delta.`{table}`").first()["numFiles"])


def maintain(spark: SparkSession, table: str, retention_hours: int) -> dict:
    """OPTIMIZE then VACUUM one table; what each did."""
    if retention_hours < MIN_RETENTION_HOURS:
        raise ValueError(f"a VACUUM retention of {retention_hours} hours is under {MIN_RETENTION_HOURS} (7 days): "
                         "time travel and rollback must reach every version of the last week")
    before = active_files(spark, table)
    optimized = spark.sql(f"OPTIMIZE delta.`{table}`").first()["metrics"]
    vacuumed = spark.sql(f"VACUUM delta.`{table}` RETAIN {retention_hours} HOURS")
    vacuum_end = (spark.sql(f"DESCRIBE HISTORY delta.`{table}` LIMIT 1").first())
    deleted = (vacuum_end["operationMetrics"] or {}).get("numDeletedFiles") if vacuum_end["operation"] == \
        "VACUUM END" else None
    return {"table": table, "files_before": before, "files_after": active_files(spark, table),
            "files_compacted": int(optimized["numFilesRemoved"]), "files_written": int(optimized["numFilesAdded"]),
            "files_vacuumed": int(deleted) if deleted is not None else vacuumed.count(),
            "retention_hours": retention_hours}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv, __doc__.split("\n\n")[0], {"retention-hours": str(MIN_RETENTION_HOURS)})
    retention = int(args.extra["retention-hours"])
    spark = spark_session(f"pulse-{args.source}-maintenance")
    tables = [t for zone in ZONES for t in delta_tables(spark, zone_uri(args.lake_root, zone, args.source))]
    for table in tables:
        print(json.dumps(maintain(spark, table, retention)), flush=True)
    print(f"maintained {len(tables)} Delta tables of {args.source} (retention {retention} hours)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
