"""The Airflow DAG ``pulse_maintenance``: weekly upkeep of the lake's Delta tables.

### Pulse lake maintenance

Every Sunday at 03:00 UTC, for each source, one Spark job (`spark_jobs/common/maintenance.py`) finds
every Delta table of the source (bronze, silver and its quarantine, gold) and runs Delta's own
`OPTIMIZE` (small files compacted into few, in a new version with the same rows) and then
`VACUUM … RETAIN <hours> HOURS` (the files no version of the retention window uses are deleted).

**Retention:** `PULSE_DELTA_RETENTION_HOURS`, 168 (7 days) by default and never less: time travel and
`python -m pulse.time_travel rollback` reach every version of the last week. Each task logs one JSON
line per table: files before and after, files compacted and vacuumed.

**Runs:** one Spark job at a time. Trigger it by hand after a large backfill. Nothing to backfill: a run
maintains the lake as it is now.
"""

from airflow.sdk import dag
from airflow.timetables.trigger import CronTriggerTimetable

from pulse import config, tasks
from pulse.dag_defaults import DEFAULT_ARGS, START_DATE
from pulse.pipeline import package_spark_jobs, spark_submit_settings
from pulse.sources import SOURCES
from pulse.spark_submit import LakeSparkSubmitOperator


@dag(
    dag_id="pulse_maintenance",
    description="Weekly OPTIMIZE and VACUUM (7-day retention) of every Delta table in the lake",
    schedule=CronTriggerTimetable("0 3 * * 0", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    default_args=DEFAULT_ARGS,
    tags=["pulse", "lake", "maintenance"],
    doc_md=__doc__,
)
def pulse_maintenance():
    packaged = package_spark_jobs()
    for source in SOURCES.values():
        packaged >> LakeSparkSubmitOperator(
            task_id=f"maintain_{source.name}", name=f"pulse-{source.name}-maintenance",
            application=str(config.SPARK_JOBS_DIR / "common" / "maintenance.py"),
            application_args=["--lake-root", tasks.spark_lake_root(), "--run-date", "{{ ds }}",
                              "--source", source.name, "--retention-hours", str(config.delta_retention_hours())],
            **spark_submit_settings(),
        )


pulse_maintenance()
