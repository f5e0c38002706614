"""The Airflow DAG ``pulse_dashboards``: Pulse's built-in dashboards, rendered whenever gold changes.

### Pulse dashboards

**Sources:** the gold tables of every pipeline, as Airflow Assets (`pulse://warehouse/gold/<table>`,
published by `creator_analytics` and `spotify_analytics` in their `publish_gold` task). The DAG is
scheduled on any of them (`AssetAny`): a publish of either source renders the dashboards again.

**Outputs:** static HTML under `$PULSE_HOME/dashboards/`, read from the warehouse's `reporting` views
(the same views Power BI reads): `index.html` (every dashboard, with each source's last publish from
`pulse_meta.publish_log`), `creators.html`, `creators-details.html` and `creators-competitors.html` (creator
analytics, three pages), `spotify.html` (the Spotify command center, per listener). The pages work offline:
their data are embedded and Plotly is copied beside them.

**Backfill:** nothing to backfill: a run renders the warehouse as it is now. Trigger it by hand to
render again, or run `python -m pulse.dashboards` outside Airflow. What it renders:
`include/pulse/dashboards/`.
"""

from airflow.sdk import dag, task

from pulse.dag_defaults import on_gold_published


@dag(
    dag_id="pulse_dashboards",
    description="Built-in dashboards from the reporting views, rendered whenever a source publishes gold",
    tags=["pulse", "bi", "dashboards"],
    doc_md=__doc__,
    **on_gold_published(),  # scheduled on every gold Asset, one run at a time
)
def pulse_dashboards():
    @task
    def render_dashboards() -> dict[str, str]:
        """Render every dashboard that has data, and the index; returns the written pages."""
        from pulse.dashboards.render import render_from_warehouse

        return render_from_warehouse()

    render_dashboards()


pulse_dashboards()
