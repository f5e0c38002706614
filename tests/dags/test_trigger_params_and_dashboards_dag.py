"""The trigger form's params (inputs to pull, simulator scale), the BI DAGs' Asset schedule and the weekly
maintenance DAG."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

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


def test_the_powerbi_dag_refreshes_each_sources_dataset_behind_a_check_whenever_gold_changes(dagbag):
    dag = dagbag.dags["pulse_powerbi"]
    dashboards = dagbag.dags["pulse_dashboards"].timetable.asset_condition
    assert {a.uri for a in dag.timetable.asset_condition.objects} == {a.uri for a in dashboards.objects}
    for source in SOURCES:
        refresh = dag.get_task(f"{source}.refresh_dataset")
        assert type(refresh).__name__ == "PowerBIDatasetRefreshOperator"
        assert refresh.upstream_task_ids == {f"{source}.powerbi_configured"}
        assert f"{source}_dataset_id" in refresh.dataset_id
    for source in SOURCES.values():  # the pipelines do not import Power BI's operator any more
        assert not any("PowerBI" in type(t).__name__ for t in dagbag.dags[source.dag_id].tasks)


def test_the_trigger_form_offers_each_sources_inputs_and_a_simulator_scale_only_where_a_simulator_scales(dagbag):
    for source in SOURCES.values():
        params = dagbag.dags[source.dag_id].params
        names = [i.name for i in source.inputs]
        assert params["inputs"] == names
        assert params.get_param("inputs").schema["items"]["enum"] == names
    assert dagbag.dags["creator_analytics"].params["simulator_scale"] == 1.0
    assert "simulator_scale" not in dagbag.dags["spotify_analytics"].params


def test_each_input_is_selected_then_waited_for_then_ingested_and_the_inputs_meet_in_one_join(dagbag):
    for source in SOURCES.values():
        dag = dagbag.dags[source.dag_id]
        join = dag.get_task("inputs_ingested")
        assert join.trigger_rule == "none_failed_min_one_success"
        for name in (i.name for i in source.inputs):
            selected = dag.get_task(f"{name}_selected")
            assert selected.task_type == "_ShortCircuitDecoratedOperator"  # a skip shows in the grid
            assert selected.downstream_task_ids == {f"wait_for_{name}"}
            assert dag.get_task(f"wait_for_{name}").downstream_task_ids == {f"ingest_{name}"}
            assert dag.get_task(f"ingest_{name}").downstream_task_ids == {"inputs_ingested"}
        assert join.downstream_task_ids == {"package_spark_jobs"}


def test_an_input_the_run_did_not_choose_is_not_selected_and_the_log_says_so(caplog, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CREATOR_API", '{"conn_type": "http", "host": "127.0.0.1"}')
    caplog.set_level("INFO")
    creator = SOURCES["creator"]
    assert tasks.input_selected(creator, "content", {"inputs": ["engagement"]}) is False
    assert "input 'content' is not among the inputs chosen for this run (engagement)" in caplog.text
    assert tasks.input_selected(creator, "engagement", {"inputs": ["engagement"]}) is True
    assert tasks.input_selected(creator, "content", {}) is True  # no param (an old run): every input runs


@pytest.mark.parametrize(("source", "input_name", "reason"), [
    ("creator", "content", "no 'creator_api' connection is defined, so the API is not pulled"),
    ("spotify", "api", "no 'spotify_api' connection is defined, so the Spotify Web API is not pulled"),
    ("spotify", "exports", "does not exist: create it, then drop files into it"),
])
def test_an_input_that_is_not_configured_here_is_not_selected_and_the_log_says_why(
        caplog, monkeypatch, tmp_path, source, input_name, reason):
    for conn_id in ("creator_api", "spotify_api"):
        monkeypatch.delenv(f"AIRFLOW_CONN_{conn_id.upper()}", raising=False)
    monkeypatch.setenv("PULSE_SPOTIFY_INBOX", str(tmp_path / "no-inbox"))
    caplog.set_level("INFO")
    assert tasks.input_selected(SOURCES[source], input_name, {}) is False
    assert f"input {input_name!r} is skipped: " in caplog.text and reason in caplog.text


def test_full_refresh_is_a_trigger_param_off_by_default_passed_to_silver_and_gold(dagbag):
    import jinja2

    for source in SOURCES.values():
        dag = dagbag.dags[source.dag_id]
        assert dag.params["full_refresh"] is False
        assert dag.params.get_param("full_refresh").schema["type"] == "boolean"
        for task_id, flags in {"silver": ("--full-refresh", "--run-id"), "gold": ("--full-refresh",)}.items():
            args = dag.get_task(task_id).application_args
            rendered = {flag: [jinja2.Template(args[args.index(flag) + 1]).render(
                params={"full_refresh": value}, run_id="manual__x") for value in (False, True)] for flag in flags}
            expected = {"--full-refresh": ["false", "true"], "--run-id": ["manual__x", "manual__x"]}
            assert rendered == {flag: expected[flag] for flag in flags}, task_id


def test_a_run_window_carries_the_simulator_scale_only_when_it_is_not_one():
    end = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    assert tasks.run_window({}, end, "2026-11-21", 1).simulator_scale is None
    assert tasks.run_window({"simulator_scale": 1}, end, "2026-11-21", 1).simulator_scale is None
    assert tasks.run_window({"simulator_scale": 0.25}, end, "2026-11-21", 1).simulator_scale == 0.25


def test_the_maintenance_dag_compacts_and_vacuums_each_sources_tables_weekly_one_job_at_a_time(dagbag):
    dag = dagbag.dags["pulse_maintenance"]
    assert dag.timetable.summary == "0 3 * * 0" and dag.max_active_tasks == 1 and not dag.catchup
    for source in SOURCES:
        job = dag.get_task(f"maintain_{source}")
        assert isinstance(job, SparkSubmitOperator)  # Pulse's subclass, which adds the lake's settings
        assert job.upstream_task_ids == {"package_spark_jobs"}
        assert job.application.endswith("spark_jobs/common/maintenance.py")
        args = job.application_args
        assert args[args.index("--source") + 1] == source
        assert int(args[args.index("--retention-hours") + 1]) >= 168
        assert job._conn_id == tasks.SPARK_CONN_ID and job.jars.endswith("/*.jar")


@pytest.mark.parametrize("variable, expected", [
    (None, {}),
    ('{"instagram": {" clever ": "Science & Technology"}, "youtube": {"UCx": "Retro games"}}',
     {"instagram": {"clever": "Science & Technology"}, "youtube": {"UCx": "Retro games"}}),
])
def test_the_creator_gold_job_gets_the_account_segments_variable_as_airflow_renders_it(
        dagbag, monkeypatch, variable, expected):
    from airflow.sdk.execution_time.cache import SecretCache
    from airflow.sdk.execution_time.context import VariableAccessor

    from spark_jobs.common.job import parse_args
    from spark_jobs.creator.gold_cross_facts import PLATFORM_NAMES
    from spark_jobs.creator.settings import (
        ACCOUNT_SEGMENTS_OPTION,
        ACCOUNT_SEGMENTS_VARIABLE,
        GoldSettings,
        parse_account_segments,
    )

    name = f"AIRFLOW_VAR_{ACCOUNT_SEGMENTS_VARIABLE.upper()}"
    if variable is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, variable)
    SecretCache.reset()
    gold = dagbag.dags["creator_analytics"].get_task("gold")
    variables = {"value": VariableAccessor(deserialize_json=False), "json": VariableAccessor(deserialize_json=True)}
    context = {"var": variables, "params": {"full_refresh": False}, "ds": "2026-12-04"}
    rendered = gold.render_template(gold.application_args, context)
    args = parse_args(rendered, "gold", options={**GoldSettings().options(), ACCOUNT_SEGMENTS_OPTION: "{}"})
    assert parse_account_segments(args.extra[ACCOUNT_SEGMENTS_OPTION], tuple(PLATFORM_NAMES)) == expected
    assert GoldSettings.from_options(args.extra) == GoldSettings()


@pytest.mark.parametrize("text, error", [
    ("{instagram: x}", "is not JSON"),
    ('["clever"]', "is a JSON list; it should be an object"),
    ('{"myspace": {"tom": "Music"}}', "names platform 'myspace'; the platforms are youtube, instagram, tiktok"),
    ('{"instagram": "clever"}', "['instagram'] is not an object of accounts and segments"),
    ('{"instagram": {"clever": ""}}', "['instagram']['clever'] = '': an account and its segment must be non-empty"),
    ('{"instagram": {"clever": 3}}', "['instagram']['clever'] = 3"),
    ('{"instagram": {" ": "Music"}}', "['instagram'][' '] = 'Music'"),
])
def test_an_account_segments_variable_that_is_not_platforms_of_accounts_and_segments_fails_naming_it(text, error):
    from spark_jobs.creator.settings import parse_account_segments

    with pytest.raises(ValueError, match="Airflow Variable creator_account_segments") as raised:
        parse_account_segments(text, ("youtube", "instagram", "tiktok"))
    assert error in str(raised.value)
