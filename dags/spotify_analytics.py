"""The Airflow DAG ``spotify_analytics``: the Spotify Web API and listeners' exports to a gold star schema.

The DAG's shape is shared by every Pulse source (``include/pulse/pipeline_dag.py``); this file only
names the source, whose configuration is ``include/pulse/sources/spotify.py``.
"""

from pulse.pipeline_dag import build_pipeline_dag
from pulse.sources.spotify import SPOTIFY

dag = build_pipeline_dag(SPOTIFY)
