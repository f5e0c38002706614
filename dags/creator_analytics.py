"""Creator analytics: the creator platform's REST API to a gold star schema in PostgreSQL.

The DAG's shape is shared by every Pulse source (see ``include/pulse/pipeline_dag.py``); this file
only names the source. Its configuration is ``include/pulse/sources/creator.py``.
"""

from pulse.pipeline_dag import build_pipeline_dag
from pulse.sources.creator import CREATOR

dag = build_pipeline_dag(CREATOR)
