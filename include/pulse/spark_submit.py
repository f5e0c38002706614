"""The operator of Pulse's Spark jobs: the Spark provider's ``SparkSubmitOperator``, which also gives Spark
the settings it needs to reach the lake.

For a lake in Azure storage, Spark's hadoop-azure needs the ``pulse_lake`` connection's credentials (and
an emulator's endpoint) as ``spark.hadoop.*`` settings (:func:`pulse.lake_storage.spark_hadoop_conf`).
They are read when the task runs, not when the DAG file is parsed: the DAG file reads no connection, and
no secret is in the serialized DAG or in the task's rendered fields (recorded before ``execute``). For a
local lake nothing is added, and the job is submitted exactly as the provider's operator would.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

# Spark's default (secret|password|token|access key), plus ABFS's account key setting: what matches is shown
# as *********(redacted) in the Spark UI's environment page and in event logs.
SPARK_REDACTION_REGEX = r"(?i)secret|password|token|access[.]?key|account[.]key"


class LakeSparkSubmitOperator(SparkSubmitOperator):
    """``SparkSubmitOperator`` for a job that reads and writes the lake at ``lake_root`` (a ``file://`` or
    ``abfs[s]://`` URI, the job's ``--lake-root``): when the task runs, the lake's Hadoop settings are
    added to ``conf``. The connection's secrets are registered with Airflow's log masker before that, so
    the spark-submit command in the task log shows ``***`` in their place."""

    def __init__(self, *, lake_root: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lake_root = lake_root

    def execute(self, context: Any) -> None:
        from pulse.lake_storage import spark_hadoop_conf

        lake_conf = spark_hadoop_conf(self.lake_root)
        if lake_conf:
            self.conf = {**(self.conf or {}), **lake_conf, "spark.redaction.regex": SPARK_REDACTION_REGEX}
        return super().execute(context)
