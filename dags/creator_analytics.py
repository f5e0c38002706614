"""The Airflow DAG ``creator_analytics``: a creator platform's REST API to a star schema in PostgreSQL.

What the source is (its inputs, Spark jobs and gold tables) is configuration, in
``include/pulse/sources/creator.py``; the four TaskGroups are shared with every Pulse pipeline
(``include/pulse/pipeline.py``). Definitions of every measure: ``docs/creator_metrics.md``.
"""

import pendulum
from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from pulse.config import SQL_DIR
from pulse.pipeline import (
    DEFAULT_ARGS,
    build_lake,
    ingest_inputs,
    pipeline_doc,
    pipeline_params,
    publish_gold,
    refresh_bi,
)
from pulse.sources.creator import CREATOR


@dag(
    dag_id=CREATOR.dag_id,
    description="Creator analytics: the creator API's four resources to gold tables in PostgreSQL",
    # Daily, for the day before: a run's data interval is the day it ingests.
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=pipeline_params(CREATOR),
    template_searchpath=[str(SQL_DIR)],
    tags=["creator", "medallion", "pulse"],
    doc_md=pipeline_doc(CREATOR),
)
def creator_analytics():
    ingest_inputs(CREATOR) >> build_lake(CREATOR) >> publish_gold(CREATOR) >> refresh_bi(CREATOR)


creator_analytics()
