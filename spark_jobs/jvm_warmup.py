"""The work whose classes `make jars` archives for every later Spark JVM (``pulse.spark_class_archive``).

A spark-submit's JVM loads and verifies some 20,000 classes (Spark, Catalyst, Delta, Parquet, Jackson) one by
one before and while its first queries run. A JDK class-data-sharing archive holds them ready to map: the
classes a JVM loaded while it ran this job, written when it exits (``-XX:ArchiveClassesAtExit``). So the job
does, on a few rows in a temporary folder, what the silver and gold jobs do on the lake: Delta writes with a
Change Data Feed, ``replaceWhere``, MERGE with updates, inserts and deletes, reads of the change feed and of an
older version, ``SHOW TBLPROPERTIES`` and ``DESCRIBE HISTORY``; JSON and Parquet; windows, joins and
aggregates; once with Spark's settings and once with those for a small input (``SMALL_INPUT_CONF``: the
interpreted evaluation instead of generated code). It writes nothing outside its temporary folder.
"""

from __future__ import annotations

import sys
import tempfile

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_jobs.common.gold_changes import latest_images
from spark_jobs.common.job import SMALL_INPUT_CONF, spark_session


def sample(spark: SparkSession, rows: int, day: str) -> DataFrame:
    """``rows`` rows of the column types the lake's tables use."""
    return spark.range(rows).select(
        (F.col("id") % 50).cast("string").alias("creator_id"), F.col("id").alias("video_id"),
        F.to_date(F.lit(day)).alias("snapshot_date"), (F.col("id") * 7 % 1000).alias("views"),
        (F.col("id") / 3).cast("double").alias("engagement_rate"), F.current_timestamp().alias("ingested_at"),
        F.array(F.lit("a"), F.col("id").cast("string")).alias("tags"),
        F.struct(F.col("id").alias("n"), F.lit("x").alias("s")).alias("detail"))


def exercise(spark: SparkSession, folder: str) -> int:
    """Write, merge and read a Delta table, the change feed and JSON as the jobs do; returns a row count so
    every query runs."""
    table = f"{folder}/table"
    sample(spark, 200, "2026-01-01").write.format("delta").partitionBy("snapshot_date").save(table)
    (sample(spark, 200, "2026-01-02").write.format("delta").mode("overwrite")
     .option("replaceWhere", "snapshot_date = DATE'2026-01-02'").save(table))
    changes = sample(spark, 300, "2026-01-02").where(F.col("video_id") % 3 != 0)
    (DeltaTable.forPath(spark, table).alias("t")
     .merge(changes.alias("s"), "t.video_id = s.video_id AND t.snapshot_date = s.snapshot_date")
     .whenMatchedUpdateAll(condition="s.views <> t.views").whenNotMatchedInsertAll()
     .whenNotMatchedBySourceDelete(condition="t.snapshot_date = DATE'2026-01-02' AND t.video_id % 5 = 0")
     .execute())
    feed = spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 1).load(table)
    latest = latest_images(feed, ["video_id", "snapshot_date"])
    before = spark.read.format("delta").option("versionAsOf", 0).load(table)
    totals = (latest.join(before, ["video_id"], "left").groupBy(latest.creator_id)
              .agg(F.sum(latest.views).alias("views"), F.avg(latest.engagement_rate).alias("rate"),
                   F.percentile_approx(latest.views, 0.5).alias("median"), F.count_distinct(latest.video_id)))
    ranked = totals.withColumn("band", F.ntile(4).over(Window.orderBy("views")))
    ranked.write.mode("overwrite").parquet(f"{folder}/parquet")
    spark.range(5).select(F.to_json(F.struct("id")).alias("value")).write.mode("overwrite").text(f"{folder}/json")
    parsed = spark.read.schema("id long").json(f"{folder}/json")
    spark.sql(f"SHOW TBLPROPERTIES delta.`{table}`").collect()
    spark.sql(f"DESCRIBE HISTORY delta.`{table}`").collect()
    return spark.read.parquet(f"{folder}/parquet").count() + parsed.count() + len(latest.collect())


def main(argv: list[str] | None = None) -> int:
    spark = spark_session("pulse-jvm-warmup")
    defaults = {key: spark.conf.get(key) for key in SMALL_INPUT_CONF}
    rows = 0
    for settings in (defaults, SMALL_INPUT_CONF):
        for key, value in settings.items():
            spark.conf.set(key, value)
        with tempfile.TemporaryDirectory(prefix="pulse-jvm-warmup-") as folder:
            rows += exercise(spark, folder)
    print(f"jvm warm-up: {rows} rows read")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
