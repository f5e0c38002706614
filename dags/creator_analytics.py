"""The Airflow DAG ``creator_analytics``: the creator platform's REST API to a gold star schema.

The DAG's shape is shared by every Pulse source (``include/pulse/pipeline_dag.py``); this file only
names the source, whose configuration is ``include/pulse/sources/creator.py``.
"""

from pulse.pipeline_dag import build_pipeline_dag
from pulse.sources.creator import CREATOR

dag = build_pipeline_dag(CREATOR)
