"""The Airflow DAG ``spotify_analytics``: the Spotify Web API and listeners' exports to PostgreSQL.

What the source is (its inputs, Spark jobs and gold tables) is configuration, in
``include/pulse/sources/spotify.py``; the four TaskGroups are shared with every Pulse pipeline
(``include/pulse/pipeline.py``). Definitions of every measure: ``docs/spotify_metrics.md``.
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
from pulse.sources.spotify import SPOTIFY


@dag(
    dag_id=SPOTIFY.dag_id,
    description="Spotify listening analytics: the Web API and streaming-history exports to gold tables in PostgreSQL",
    # Daily, for the day before: a run's data interval is the day it ingests.
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=pipeline_params(SPOTIFY),
    template_searchpath=[str(SQL_DIR)],
    tags=["spotify", "medallion", "pulse"],
    doc_md=pipeline_doc(SPOTIFY),
)
def spotify_analytics():
    ingest_inputs(SPOTIFY) >> build_lake(SPOTIFY) >> publish_gold(SPOTIFY) >> refresh_bi(SPOTIFY)


spotify_analytics()
