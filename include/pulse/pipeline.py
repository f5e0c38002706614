"""The building blocks of every Pulse pipeline DAG: four TaskGroups, chained in each ``dags/<source>.py``.

    ingest_inputs(source) >> build_lake(source) >> publish_gold(source) >> refresh_bi(source)

- **ingest_inputs**: per input, ``<input>_selected`` (a short-circuit: the run chose the input and its
  connection or inbox exists; otherwise it and its tasks are skipped, visibly in the grid, with the
  reason in its log) >> ``wait_for_<input>`` (a sensor) >> ``ingest_<input>`` (raw records into
  bronze). They meet at ``inputs_ingested``, which runs when no input failed and at least one landed.
- **build_lake**: ``package_spark_jobs`` (zips ``spark_jobs/`` for ``--py-files``) >> ``silver`` >>
  ``gold``, both ``SparkSubmitOperator`` on the ``spark_default`` connection.
- **publish_gold**: ``stage_gold`` (COPY into the run's own ``staging_<source>_<hash of run id>``, named
  in its XCom ``staging_schema``) >> ``quality_gate`` (SQL check operators on that schema) >>
  ``publish_gold`` (one transaction swaps it into ``gold``; its outlets are the gold Assets).
- **refresh_bi**: ``refresh_reporting`` (the reporting views, the BI role's grants and planner
  statistics, then each view's row count). The built-in dashboards and Power BI are refreshed by their
  own DAGs, ``pulse_dashboards`` and ``pulse_powerbi``, scheduled on the gold Assets ``publish_gold``
  updates: their operators are not imported when a pipeline's DAG file is parsed.

Task ids carry no group prefix (``silver``, ``publish_gold``), so logs, the REST API and the tests name
tasks as the docs do; the grid shows the groups. What the Python tasks do is in :mod:`pulse.tasks`.
"""

from __future__ import annotations

from airflow.providers.common.sql.operators.sql import (
    SQLCheckOperator,
    SQLExecuteQueryOperator,
    SQLTableCheckOperator,
)
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Param, TaskGroup, task

from pulse import config, quality, tasks
from pulse.dag_defaults import DEFAULT_ARGS, START_DATE, gold_asset
from pulse.sources.base import Source
from pulse.spark_submit import LakeSparkSubmitOperator


def pipeline_dag_settings(source: Source) -> dict:
    """What every pipeline DAG passes to ``@dag`` besides its schedule, params, description and tags:
    its id, its doc, the first date, one run at a time without catch-up, the default task arguments and
    where its ``.sql`` templates are."""
    return {
        "dag_id": source.dag_id,
        "doc_md": pipeline_doc(source),
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "default_args": DEFAULT_ARGS,
        "template_searchpath": [str(config.SQL_DIR)],
    }


def pipeline_params(source: Source) -> dict[str, Param]:
    """The trigger form: the window to ingest and the inputs to pull (plus what the source adds)."""
    names = [i.name for i in source.inputs]
    return {
        "lookback_days": Param(source.default_lookback_days, type="integer", minimum=1, maximum=3650,
                               description="Days to ask the API for, ending at the run's data interval end."),
        "start_date": Param(None, type=["null", "string"], format="date",
                            description="Backfill window start (overrides lookback_days)."),
        "end_date": Param(None, type=["null", "string"], format="date",
                          description="Backfill window end, exclusive."),
        "inputs": Param(names, type="array", minItems=1, uniqueItems=True, items={"type": "string", "enum": names},
                        description="Inputs to pull in this run; the others are skipped, saying so in the log."),
        "full_refresh": Param(False, type="boolean",
                              description="Rebuild silver from all of bronze and gold from all of silver, instead "
                                          "of merging only what changed since the last run (the result is the same)."),
        **source.extra_params,
    }


def pipeline_doc(source: Source) -> str:
    """The DAG's ``doc_md``: what goes in, what comes out, the trigger form and how to backfill."""
    inputs = ", ".join(f"`{i.name}`" for i in source.inputs)
    connections = ", ".join(f"`{c}`" for c in source.connections) or "none"
    tables = ", ".join(f"`gold.{t.name}`" for t in source.gold_tables)
    extra = "".join(f"\n- `{name}`: {param.description}" for name, param in source.extra_params.items())
    return f"""### {source.title}

**Inputs:** {inputs} (connections: {connections}). **Outputs:** {tables} in the
`{tasks.WAREHOUSE_CONN_ID}` warehouse (each an Airflow Asset, `pulse://warehouse/gold/<table>`), the
`reporting.{source.name}_*` views over them (the semantic layer BI reads, as the read-only role `pulse_bi`),
the dashboards the `pulse_dashboards` DAG renders when these Assets change, and the Power BI dataset
refresh the `pulse_powerbi` DAG runs then, when a `powerbi_default` connection exists.
Definitions: `docs/{source.name}_metrics.md`.

**Ingest.** Each input is first checked (`<input>_selected`): an input the run did not choose, or whose
connection is not defined, is skipped there, with the reason in its log, and the run goes on with the
others. Then it waits until it can be ingested (`wait_for_<input>`) and lands its raw records in
`bronze/{source.name}/` (`ingest_<input>`; a rerun of a date replaces its partition). An inbox with
nothing new is skipped when its wait ends.

**Lake.** Spark builds silver (typed, deduplicated; bad records go to `silver/{source.name}/_quarantine/`
with a reason and the run id) and gold, all Delta tables. The creator lake is incremental: silver MERGEs only
what bronze committed since the last run, gold only the slices those changes touched (the `silver` and `gold`
tasks' logs say what they read and merged); `full_refresh` rebuilds both.

**Publish.** Gold is copied into the run's own `staging_{source.name}_<hash>` schema, checked by the quality
gate, and only then swapped into `gold` in one transaction: a failed check leaves the previous gold in place.
The swap waits for BI readers a bounded time (`PULSE_PUBLISH_LOCK_TIMEOUT_SECONDS`), retries, and then fails
naming them; it refuses gold older than the published one (roll back with `make rollback` for that).

**Trigger form:**
- `start_date`/`end_date` (end exclusive): a backfill window; or `lookback_days` to widen a run.
- `inputs`: the inputs to pull; the others are skipped.
- `full_refresh`: rebuild silver from all of bronze and gold from all of silver (a daily run merges only
  what changed since the last run, and gives the same result).{extra}

**Backfill:** trigger with `start_date`/`end_date`, or
`airflow backfill create --dag-id {source.dag_id} --from-date … --to-date …` (one run per day).
"""


def ingest_inputs(source: Source) -> TaskGroup:
    """Wait for and ingest every input of ``source`` into bronze; ends in the join ``inputs_ingested``."""
    with TaskGroup("ingest", prefix_group_id=False, tooltip="Each input into bronze") as group:
        ingested = []
        for source_input in source.inputs:

            @task.short_circuit(task_id=f"{source_input.name}_selected", ignore_downstream_trigger_rules=False)
            def selected(input_name: str, params=None) -> bool:
                return tasks.input_selected(source, input_name, params or {})

            @task(task_id=f"ingest_{source_input.name}")
            def ingest(input_name: str, params=None, data_interval_end=None, ds=None) -> dict:
                window = tasks.run_window(params or {}, data_interval_end, ds, source.default_lookback_days)
                return source.input(input_name).ingest(source.name, window)

            wait = source_input.sensor(task_id=f"wait_for_{source_input.name}")
            ingest_task = ingest(source_input.name)
            selected(source_input.name) >> wait >> ingest_task
            ingested.append(ingest_task)
        # A skipped input (not chosen, not configured, nothing new in an inbox) does not stop the run;
        # a failed one does.
        ingested >> EmptyOperator(task_id="inputs_ingested", trigger_rule="none_failed_min_one_success")
    return group


def spark_submit_settings() -> dict:
    """What every Spark job of Pulse (a :class:`~pulse.spark_submit.LakeSparkSubmitOperator`) passes: the
    ``spark_default`` connection, the zipped ``spark_jobs`` package, the jars of ``make jars``, how the jobs
    run (:func:`pulse.config.spark_conf`) and the lake, whose storage settings the operator adds when it runs."""
    return dict(conn_id=tasks.SPARK_CONN_ID, py_files=str(config.dist_dir() / "spark_jobs.zip"),
                conf=config.spark_conf(), driver_memory=config.spark_driver_memory(),
                # Delta Lake's and hadoop-azure's jars (a glob spark-submit expands; package_spark_jobs checks them).
                jars=str(config.spark_jars_dir() / "*.jar"),
                env_vars={"PYSPARK_PYTHON": config.spark_python()}, lake_root=tasks.spark_lake_root())


@task
def package_spark_jobs() -> str:
    """Zip ``spark_jobs/`` for ``--py-files``, after checking Java (for a local master) and the jars."""
    return tasks.package_spark_jobs(check_java=tasks.spark_master().startswith("local"))


def build_lake(source: Source) -> TaskGroup:
    """Silver and gold from bronze, by ``spark-submit`` of the source's two jobs."""
    job_args = ["--lake-root", tasks.spark_lake_root(), "--run-date", "{{ ds }}", "--source", source.name]
    # A full refresh rebuilds silver from all of bronze and gold from all of silver; silver records the
    # run's id beside what it quarantines.
    full_refresh = ["--full-refresh", "{{ params.full_refresh | lower }}"]
    silver_args = [*job_args, "--run-id", "{{ run_id }}", *full_refresh]
    spark = spark_submit_settings()
    with TaskGroup("lake", prefix_group_id=False, tooltip="Silver and gold, in Spark") as group:
        silver = LakeSparkSubmitOperator(task_id="silver", application=str(config.SPARK_JOBS_DIR / source.silver_job),
                                         name=f"pulse-{source.name}-silver", application_args=silver_args, **spark)
        gold = LakeSparkSubmitOperator(task_id="gold", application=str(config.SPARK_JOBS_DIR / source.gold_job),
                                       name=f"pulse-{source.name}-gold",
                                       application_args=[*job_args, *full_refresh, *source.gold_job_args,
                                                         *source.gold_runtime_args], **spark)
        package_spark_jobs() >> silver >> gold
    return group


# The run's staging schema, as ``stage_gold`` names it (XCom ``staging_schema``): the gate checks that one.
STAGING_SCHEMA = "{{ ti.xcom_pull(task_ids='stage_gold', key='staging_schema') }}"


def publish_gold(source: Source) -> TaskGroup:
    """Stage gold in PostgreSQL, in the run's own schema, check it, and swap it into ``gold`` in one
    transaction."""
    with TaskGroup("publish", prefix_group_id=False, tooltip="Gold into PostgreSQL, behind the gate") as group:

        @task
        def stage_gold(run_id=None, ti=None) -> dict:
            from pulse.warehouse import staging_schema

            ti.xcom_push(key="staging_schema", value=staging_schema(source.name, run_id))
            return tasks.stage(source, run_id)

        with TaskGroup("quality_gate", tooltip="Checks on the staged tables; a failure stops the publish") as gate:
            for table in source.gold_tables:
                SQLTableCheckOperator(task_id=f"check_{table.name}", conn_id=tasks.WAREHOUSE_CONN_ID,
                                      table=f"{STAGING_SCHEMA}.{table.name}", checks=quality.table_checks(table),
                                      retries=0)
                for fk in table.references:
                    SQLCheckOperator(task_id=f"check_{table.name}_joins_{fk.table}", conn_id=tasks.WAREHOUSE_CONN_ID,
                                     sql=quality.orphan_rows_sql(STAGING_SCHEMA, table, fk), retries=0)

        @task(task_id="publish_gold", outlets=[gold_asset(t.name) for t in source.gold_tables])
        def publish(run_id=None, ds=None) -> None:
            from datetime import date

            tasks.publish(source, run_id, date.fromisoformat(ds))

        stage_gold() >> gate >> publish()
    return group


def refresh_bi(source: Source) -> TaskGroup:
    """The reporting views, the BI role's grants and statistics. The dashboards and Power BI follow the
    gold Assets (the ``pulse_dashboards`` and ``pulse_powerbi`` DAGs)."""
    with TaskGroup("bi", prefix_group_id=False, tooltip="Reporting views") as group:
        # One transaction: the views and grants again (idempotent), fresh planner statistics, then what
        # each reporting view holds (the last statement's rows go to XCom and the log).
        SQLExecuteQueryOperator(
            task_id="refresh_reporting", conn_id=tasks.WAREHOUSE_CONN_ID,
            sql=[*source.view_sql_files, tasks.bi_grants_sql(source),
                 *(f"ANALYZE gold.{t.name}" for t in source.gold_tables), "reporting_row_counts_function.sql",
                 "reporting_row_counts.sql"],
            params={"view_prefix": f"{source.name}\\_%"}, return_last=True, show_return_value_in_logs=True,
        )

    return group
