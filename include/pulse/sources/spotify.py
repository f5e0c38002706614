"""Spotify listening analytics: the Web API and listeners' streaming-history exports into a star schema.

Two inputs feed one silver play-event table: the Web API crawl (playlists, their tracks' artists and
albums, the listener's recently played; connection ``spotify_api``) and the "download your data"
exports people drop into ``<inbox>/<listener>/``. Either may be absent: gold works from exports alone,
from the API alone, or from both. The gold tables and their checks are in
:mod:`pulse.sources.spotify_gold`; every definition is in ``docs/spotify_metrics.md``.
"""

from pulse.inputs import ExportInbox, SpotifyWebApi
from pulse.sources.base import Source
from pulse.sources.spotify_gold import GOLD_JOB_ARGS, GOLD_TABLES

SPOTIFY = Source(
    name="spotify",
    dag_id="spotify_analytics",
    title="Spotify listening analytics",
    inputs=(SpotifyWebApi(name="api", conn_id="spotify_api"), ExportInbox(name="exports", source_name="spotify")),
    silver_job="spotify/silver.py",
    gold_job="spotify/gold.py",
    gold_job_args=GOLD_JOB_ARGS,
    gold_tables=GOLD_TABLES,
    # The original's table names first (views in gold), then the reporting views.
    view_sql_files=("spotify/original_names.sql", "spotify/reporting_views.sql"),
)
