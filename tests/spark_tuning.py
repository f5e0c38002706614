"""Spark settings for the suite's tiny data: the same results, less fixed cost per job.

A job of the suite reads a few hundred rows, so what it costs is Spark's fixed work per query, not the data:
- whole-stage code generation compiles Java for every query (``spark.sql.codegen.wholeStage``), and so,
  without it, does every projection, predicate and ordering (``spark.sql.codegen.factoryMode``: Spark's
  interpreted evaluation, which its own test suites run beside the generated one, instead);
- adaptive execution re-plans between stages (``spark.sql.adaptive.enabled``);
- PySpark records the Python call site of every DataFrame call for error messages, several calls into the
  JVM each (``spark.python.sql.dataFrameDebugging.enabled``): the jobs build plans of thousands of columns
  and expressions, and the Spotify incremental days spent 44 % less Python CPU without it;
- every shuffle, Delta state reconstruction and file listing is split into tasks (Pulse's default: 8), each a
  few milliseconds of scheduling for a handful of rows: one partition does (``spark.sql.shuffle.partitions``,
  ``spark.databricks.delta.snapshotPartitions``, ``…parallelPartitionDiscovery.parallelism``);
- a spark-submit's JVM lives under a minute, so the optimising JIT compiler (C2) spends more than it returns
  (``-XX:TieredStopAtLevel=1``), and a serial GC does for a small heap. With C2 off the JVM also shrinks its
  code cache to 48 MB, which a job of more than a minute fills: the JVM then logs "CodeCache is full.
  Compiler has been disabled" and runs the rest interpreted (the Spotify e2e silver job did, 61 s in). So
  the cache keeps its usual 240 MB (``-XX:ReservedCodeCacheSize``).

Measured on the creator's silver and gold jobs of the e2e tests by spark-submit (2 cores): 39 s and 32 s with
Pulse's own settings, 28 s and 25 s with these. They trade speed on big data for start-up speed: a Pulse job
sets the SQL ones (``spark_jobs.common.job.SMALL_INPUT_CONF``) itself when its input is small
(``fit_to_input``); the JVM options are the suite's only. The creator's e2e reference run uses Pulse's settings
for a big input and its rerun these, and their gold must be equal, row for row.
"""

from __future__ import annotations

import json

from spark_jobs.common.job import SMALL_INPUT_BYTES, SMALL_INPUT_CONF

TINY_DATA = {**SMALL_INPUT_CONF, "spark.python.sql.dataFrameDebugging.enabled": "false"}
"""For every Spark session of the suite, the shared long-lived one included."""

_SHORT_LIVED_JVM = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m -XX:+UseSerialGC"
SHORT_JOB = {**TINY_DATA, "spark.driver.extraJavaOptions": _SHORT_LIVED_JVM,
             "spark.executor.extraJavaOptions": _SHORT_LIVED_JVM}
"""For a spark-submit of the suite: a job whose JVMs live a minute."""

SHORT_JOB_ENV = {"PULSE_SPARK_CONF": json.dumps(SHORT_JOB)}
"""The environment that gives every Pulse job :data:`SHORT_JOB` (``pulse.config.spark_conf_overrides``)."""

PULSE_DEFAULTS_ENV = {"PULSE_SPARK_CONF": json.dumps({SMALL_INPUT_BYTES: "0"})}
"""The environment of a run with Pulse's own Spark settings for a big input: the jobs keep them whatever the
size of the lake (``spark_jobs.common.job.fit_to_input`` is off), so a run in it and a run in
:data:`SHORT_JOB_ENV` compare the two kinds of settings."""
