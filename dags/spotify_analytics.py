"""The Airflow DAG ``spotify_analytics``: the Spotify Web API and listeners' exports to PostgreSQL.

What the source is (its inputs, Spark jobs and gold tables) is configuration, in
``include/pulse/sources/spotify.py``; the four TaskGroups are shared with every Pulse pipeline
(``include/pulse/pipeline.py``). Definitions of every measure: ``docs/spotify_metrics.md``.
"""

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from pulse.pipeline import build_lake, ingest_inputs, pipeline_dag_settings, pipeline_params, publish_gold, refresh_bi
from pulse.sources.spotify import SPOTIFY


@dag(
    # Daily, for the day before: a run's data interval is the day it ingests.
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    params=pipeline_params(SPOTIFY),
    description="Spotify listening analytics: the Web API and streaming-history exports to gold tables in PostgreSQL",
    tags=["spotify", "medallion", "pulse"],
    **pipeline_dag_settings(SPOTIFY),  # id, doc, start date, one run at a time, default args
)
def spotify_analytics():
    ingest_inputs(SPOTIFY) >> build_lake(SPOTIFY) >> publish_gold(SPOTIFY) >> refresh_bi(SPOTIFY)


spotify_analytics()
