"""The one DAG shape every Pulse source runs on.

    wait_for_<endpoint> >> ingest_<endpoint>    (one pair per endpoint, in parallel)
        >> package_spark_jobs >> silver >> gold          (SparkSubmitOperator)
        >> stage_gold >> quality_gate.* >> publish_gold  (COPY to staging, checks, atomic swap)
        >> refresh_reporting >> powerbi_configured >> refresh_powerbi_dataset

Only wiring lives here; what each task does is in :mod:`pulse.tasks`, so DAG files stay thin and
parse fast (heavy imports happen inside the task bodies).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.common.sql.operators.sql import SQLCheckOperator, SQLTableCheckOperator
from airflow.providers.microsoft.azure.operators.powerbi import PowerBIDatasetRefreshOperator
from airflow.sdk import DAG, Asset, Param, TaskGroup, task
from airflow.timetables.interval import CronDataIntervalTimetable

from pulse import quality, tasks
from pulse.config import SPARK_JOBS_DIR, dist_dir, lake_root
from pulse.lake_storage import spark_uri
from pulse.sources.base import Source

SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": os.environ.get("PULSE_SPARK_SHUFFLE_PARTITIONS", "8"),
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.showConsoleProgress": "false",
}

DEFAULT_ARGS = {
    "owner": "pulse",
    "retries": 2,
    "retry_delay": timedelta(seconds=float(os.environ.get("PULSE_RETRY_DELAY_SECONDS", "30"))),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


def gold_asset(table: str) -> Asset:
    """The Asset a published gold table is: downstream DAGs (BI) schedule on it."""
    return Asset(name=f"gold.{table}", uri=f"pulse://warehouse/gold/{table}", group="gold")


def _scales_simulator(source: Source) -> bool:
    return any(getattr(i, "scales_simulator", False) for i in source.inputs)


def _doc(source: Source) -> str:
    inputs = ", ".join(f"`{i.name}`" for i in source.inputs)
    connections = ", ".join(f"`{c}`" for c in source.connections) or "none"
    tables = ", ".join(f"`gold.{t.name}`" for t in source.gold_tables)
    scale = ("\n- `simulator_scale`: how much data Pulse's simulator serves (1 = as configured); sent only to a "
             "connection marked as a simulator, never to a real API." if _scales_simulator(source) else "")
    return f"""### {source.title}

**Inputs:** {inputs} (connections: {connections}). **Outputs:** {tables} in the
`{tasks.WAREHOUSE_CONN_ID}` warehouse (each an Airflow Asset, `pulse://warehouse/gold/<table>`), the
`reporting.{source.name}_*` views over them (the semantic layer BI reads, as the read-only role `pulse_bi`),
the dashboards the `pulse_dashboards` DAG renders when these Assets change, and a Power BI dataset refresh
when a `powerbi_default` connection exists. Definitions: `docs/{source.name}_metrics.md`.

Each input waits until it can be ingested (`wait_for_<input>`), then lands its raw records in
`bronze/{source.name}/` (`ingest_<input>`; a rerun of a date replaces its partition). An input whose
connection is not defined, or an inbox with nothing new, is skipped and the run goes on with the others.
Spark builds silver (typed, deduplicated; bad records go to `silver/{source.name}/_quarantine/` with a
reason) and gold. Gold is copied into `staging_{source.name}`, checked by the quality gate, and only then
swapped into `gold` in one transaction: a failed check leaves the previous gold in place.

**Trigger form:**
- `start_date`/`end_date` (end exclusive): a backfill window; or `lookback_days` to widen a run.
- `inputs`: the inputs to pull; the wait and ingest of the others are skipped, with a line in the log.{scale}

**Backfill:** trigger with `start_date`/`end_date`, or
`airflow backfill create --dag-id {source.dag_id} --from-date … --to-date …` (one run per day).
"""


def build_pipeline_dag(source: Source) -> DAG:
    """The DAG of ``source``, built from its configuration alone."""
    lake = spark_uri(lake_root())  # file:///… for a directory: the same on every Spark node
    with DAG(
        dag_id=source.dag_id,
        description=f"{source.title}: {', '.join(i.name for i in source.inputs)} to gold tables in PostgreSQL",
        schedule=CronDataIntervalTimetable(source.schedule, timezone="UTC"),
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=list(source.tags),
        doc_md=_doc(source),
        params={
            "lookback_days": Param(source.default_lookback_days, type="integer", minimum=1, maximum=3650,
                                   description="Days to ask the API for, ending at the run's data interval end."),
            "start_date": Param(None, type=["null", "string"], format="date",
                                description="Backfill window start (overrides lookback_days)."),
            "end_date": Param(None, type=["null", "string"], format="date",
                              description="Backfill window end, exclusive."),
            "inputs": Param([i.name for i in source.inputs], type="array", minItems=1, uniqueItems=True,
                            items={"type": "string", "enum": [i.name for i in source.inputs]},
                            description="Inputs to pull in this run; the others are skipped, saying so in the log."),
            **({"simulator_scale": Param(1.0, type="number", exclusiveMinimum=0, maximum=100,
                                         description="Data volume of Pulse's simulator (1 = as configured). "
                                                     "Sent only to a connection marked as a simulator.")}
               if _scales_simulator(source) else {}),
        },
    ) as dag:
        ingested = []
        for source_input in source.inputs:
            chosen = tasks.skip_unless_chosen(source_input.name)
            wait = source_input.sensor(task_id=f"wait_for_{source_input.name}", pre_execute=chosen)

            @task(task_id=f"ingest_{source_input.name}", pre_execute=chosen)
            def ingest(input_name: str, params=None, data_interval_end=None, ds=None) -> dict:
                window = tasks.run_window(params or {}, data_interval_end, ds, source.default_lookback_days)
                return source.input(input_name).ingest(source.name, window)

            ingest_task = ingest(source_input.name)
            wait >> ingest_task
            ingested.append(ingest_task)

        # An input that was skipped (not configured, nothing new in an inbox) does not stop the run;
        # one that failed does.
        @task(trigger_rule="none_failed_min_one_success")
        def package_spark_jobs() -> str:
            return tasks.package_spark_jobs(check_java=tasks.spark_master().startswith("local"))

        packaged = package_spark_jobs()
        job_args = ["--lake-root", lake, "--run-date", "{{ ds }}", "--source", source.name]
        spark_common = dict(
            conn_id=tasks.SPARK_CONN_ID,
            py_files=str(dist_dir() / "spark_jobs.zip"),
            conf=SPARK_CONF,
            driver_memory=os.environ.get("PULSE_SPARK_DRIVER_MEMORY", "2g"),
            env_vars={"PYSPARK_PYTHON": os.environ.get("PULSE_SPARK_PYTHON", sys.executable)},
        )
        silver = SparkSubmitOperator(
            task_id="silver", application=str(SPARK_JOBS_DIR / source.silver_job),
            name=f"pulse-{source.name}-silver", application_args=job_args, **spark_common,
        )
        gold = SparkSubmitOperator(
            task_id="gold", application=str(SPARK_JOBS_DIR / source.gold_job),
            name=f"pulse-{source.name}-gold", application_args=[*job_args, *source.gold_job_args], **spark_common,
        )

        @task
        def stage_gold() -> dict:
            return tasks.stage(source)

        staged = stage_gold()
        staging = f"staging_{source.name}"
        with TaskGroup("quality_gate", tooltip="Checks on the staged tables; a failure stops the publish") as gate:
            for table in source.gold_tables:
                SQLTableCheckOperator(
                    task_id=f"check_{table.name}",
                    conn_id=tasks.WAREHOUSE_CONN_ID,
                    table=f"{staging}.{table.name}",
                    checks=quality.table_checks(table),
                    retries=0,
                )
                for fk in table.references:
                    SQLCheckOperator(
                        task_id=f"check_{table.name}_joins_{fk.table}",
                        conn_id=tasks.WAREHOUSE_CONN_ID,
                        sql=quality.orphan_rows_sql(staging, table, fk),
                        retries=0,
                    )

        @task(outlets=[gold_asset(t.name) for t in source.gold_tables])
        def publish_gold(run_id=None, ds=None) -> None:
            from datetime import date

            tasks.publish(source, run_id, date.fromisoformat(ds))

        @task
        def refresh_reporting() -> dict:
            return tasks.refresh_reporting(source)

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def powerbi_configured() -> bool:
            return tasks.powerbi_configured()

        refresh_powerbi = PowerBIDatasetRefreshOperator(
            task_id="refresh_powerbi_dataset",
            conn_id="powerbi_default",
            group_id="{{ conn.powerbi_default.extra_dejson.group_id }}",
            dataset_id=f"{{{{ conn.powerbi_default.extra_dejson.{source.name}_dataset_id }}}}",
            check_interval=30,
            timeout=60 * 30,
        )

        published = publish_gold()
        ingested >> packaged >> silver >> gold >> staged >> gate >> published
        published >> refresh_reporting() >> powerbi_configured() >> refresh_powerbi
    return dag
