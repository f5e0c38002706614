"""The Airflow DAG ``pulse_powerbi``: each source's Power BI dataset, refreshed whenever gold changes.

### Pulse → Power BI

**Sources:** the gold tables of every pipeline, as Airflow Assets (`pulse://warehouse/gold/<table>`,
published by `creator_analytics` and `spotify_analytics` in their `publish_gold` task). The DAG is
scheduled on any of them (`AssetAny`).

**What it does:** for each source, `<source>.powerbi_configured` checks that a `powerbi_default`
connection exists and names that source's dataset (`<source>_dataset_id` in its extra, beside
`group_id`); when it does, `<source>.refresh_dataset` (`PowerBIDatasetRefreshOperator`) asks Power BI to
refresh the dataset and waits for it in the triggerer. Without the connection, or without the source's
dataset id, the refresh is skipped, with the reason in the log. The datasets read the warehouse's
`reporting` views as the read-only role `pulse_bi` (README, "Power BI").

**Backfill:** nothing to backfill: a run refreshes the datasets from the warehouse as it is now.
Trigger it by hand to refresh again.
"""

from airflow.providers.microsoft.azure.operators.powerbi import PowerBIDatasetRefreshOperator
from airflow.sdk import TaskGroup, dag, task

from pulse import tasks
from pulse.dag_defaults import on_gold_published
from pulse.sources import SOURCES

POWERBI_CONN_ID = "powerbi_default"


@dag(
    dag_id="pulse_powerbi",
    description="Power BI dataset refreshes, whenever a source publishes gold (when Power BI is configured)",
    tags=["pulse", "bi", "powerbi"],
    doc_md=__doc__,
    **on_gold_published(),  # scheduled on every gold Asset, one run at a time
)
def pulse_powerbi():
    for source_name in SOURCES:
        with TaskGroup(source_name, tooltip=f"The {source_name} dataset"):

            @task.short_circuit
            def powerbi_configured(name: str) -> bool:
                return tasks.powerbi_configured(name, POWERBI_CONN_ID)

            powerbi_configured(source_name) >> PowerBIDatasetRefreshOperator(
                task_id="refresh_dataset",
                conn_id=POWERBI_CONN_ID,
                group_id=f"{{{{ conn.{POWERBI_CONN_ID}.extra_dejson.group_id }}}}",
                dataset_id=f"{{{{ conn.{POWERBI_CONN_ID}.extra_dejson.{source_name}_dataset_id }}}}",
                check_interval=30,
                timeout=60 * 30,
            )


pulse_powerbi()
