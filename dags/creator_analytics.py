"""The Airflow DAG ``creator_analytics``: a creator platform's REST API to a star schema in PostgreSQL.

What the source is (its inputs, Spark jobs and gold tables) is configuration, in
``include/pulse/sources/creator.py``; the four TaskGroups are shared with every Pulse pipeline
(``include/pulse/pipeline.py``). Definitions of every measure: ``docs/creator_metrics.md``.
"""

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from pulse.pipeline import build_lake, ingest_inputs, pipeline_dag_settings, pipeline_params, publish_gold, refresh_bi
from pulse.sources.creator import CREATOR


@dag(
    # Daily, for the day before: a run's data interval is the day it ingests.
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    params=pipeline_params(CREATOR),
    description="Creator analytics: the creator API's four resources to gold tables in PostgreSQL; YouTube channels "
                "into bronze",
    tags=["creator", "medallion", "pulse"],
    **pipeline_dag_settings(CREATOR),  # id, doc, start date, one run at a time, default args
)
def creator_analytics():
    ingest_inputs(CREATOR) >> build_lake(CREATOR) >> publish_gold(CREATOR) >> refresh_bi(CREATOR)


creator_analytics()
