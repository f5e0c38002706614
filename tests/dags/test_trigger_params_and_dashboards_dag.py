"""The trigger form's params (inputs to pull, simulator scale) and the dashboards DAG's Asset schedule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from pulse import tasks
from pulse.sources import SOURCES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
        from airflow.dag_processing.dagbag import DagBag

        yield DagBag(dag_folder=str(REPO / "dags"))


def test_the_dashboards_dag_runs_when_any_gold_table_of_any_source_changes(dagbag):
    dag = dagbag.dags["pulse_dashboards"]
    condition = dag.timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"
    scheduled_on = {asset.uri for asset in condition.objects}
    published = {outlet.uri for source in SOURCES.values()
                 for outlet in dagbag.dags[source.dag_id].get_task("publish_gold").outlets}
    assert scheduled_on == published
    assert len(published) == sum(len(s.gold_tables) for s in SOURCES.values())
    assert [t.task_id for t in dag.tasks] == ["render_dashboards"]


def test_the_trigger_form_offers_each_sources_inputs_and_a_simulator_scale_only_where_a_simulator_scales(dagbag):
    for source in SOURCES.values():
        params = dagbag.dags[source.dag_id].params
        names = [i.name for i in source.inputs]
        assert params["inputs"] == names
        assert params.get_param("inputs").schema["items"]["enum"] == names
    assert dagbag.dags["creator_analytics"].params["simulator_scale"] == 1.0
    assert "simulator_scale" not in dagbag.dags["spotify_analytics"].params


def test_every_wait_and_ingest_task_skips_itself_when_its_input_is_not_chosen(dagbag, caplog):
    caplog.set_level("INFO")
    dag = dagbag.dags["creator_analytics"]
    context = {"params": {"inputs": ["engagement"]}}
    for task_id in ("wait_for_content", "ingest_content"):
        with pytest.raises(AirflowSkipException, match="'content' was not chosen"):
            dag.get_task(task_id)._pre_execute_hook(context)
    assert "input 'content' is not among the inputs chosen for this run (engagement)" in caplog.text
    for task_id in ("wait_for_engagement", "ingest_engagement"):
        dag.get_task(task_id)._pre_execute_hook(context)  # chosen: runs
    dag.get_task("ingest_content")._pre_execute_hook({"params": {}})  # no param (an old run): every input runs


def test_a_run_window_carries_the_simulator_scale_only_when_it_is_not_one():
    end = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    assert tasks.run_window({}, end, "2026-11-21", 1).simulator_scale is None
    assert tasks.run_window({"simulator_scale": 1}, end, "2026-11-21", 1).simulator_scale is None
    assert tasks.run_window({"simulator_scale": 0.25}, end, "2026-11-21", 1).simulator_scale == 0.25
