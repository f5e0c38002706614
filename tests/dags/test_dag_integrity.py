"""Every DAG file imports cleanly, fast, and follows the project's rules: checked file by file, each
parsed on its own as the dag-processor parses it."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
PIPELINES = {"creator_analytics", "spotify_analytics"}


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
        yield


@pytest.fixture(scope="module", params=DAG_FILES, ids=lambda p: p.name)
def dag_file(request, airflow_home):
    """One DAG file, parsed alone: ``(path, DagBag)``."""
    from airflow.dag_processing.dagbag import DagBag

    return request.param, DagBag(dag_folder=str(request.param))


@pytest.fixture(scope="module")
def dagbag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_the_file_imports_without_errors_and_holds_one_dag(dag_file):
    path, bag = dag_file
    assert bag.import_errors == {}
    assert [Path(d.fileloc).name for d in bag.dags.values()] == [path.name]


def test_its_dag_has_tags_an_owner_docs_and_every_task_retries(dag_file):
    _, bag = dag_file
    for dag in bag.dags.values():
        assert dag.tags, f"{dag.dag_id} has no tags"
        assert dag.doc_md, f"{dag.dag_id} has no doc_md"
        for t in dag.tasks:
            assert t.owner == "pulse", f"{dag.dag_id}.{t.task_id} has owner {t.owner}"
            if not t.task_id.startswith("quality_gate."):
                assert t.retries >= 2, f"{dag.dag_id}.{t.task_id} has retries={t.retries}"


def test_the_file_parses_quickly(dag_file):
    # The sub-second target is measured by `make bench`; this bound only catches a file that does
    # real work at parse time (a network call, a Spark session, a heavy import at top level).
    path, bag = dag_file
    for stat in bag.dagbag_stats:
        seconds = stat.duration.total_seconds() if hasattr(stat.duration, "total_seconds") else stat.duration
        assert seconds < 5, f"{path.name} took {seconds:.2f}s to parse"


def pipelines(dagbag) -> list:
    assert PIPELINES <= set(dagbag.dags)
    return [dagbag.dags[dag_id] for dag_id in sorted(PIPELINES)]


def test_quality_checks_fail_at_once_instead_of_retrying(dagbag):
    for dag in pipelines(dagbag):
        gate = [t for t in dag.tasks if t.task_id.startswith("quality_gate.")]
        assert gate and all(t.retries == 0 for t in gate)


def test_spark_tasks_use_the_spark_default_connection_and_ship_the_jobs_package(dagbag):
    for dag in pipelines(dagbag):
        for task_id in ("silver", "gold"):
            task = dag.get_task(task_id)
            assert task._conn_id == "spark_default"
            assert task.py_files.endswith("spark_jobs.zip")
            assert Path(task.application).is_file()


def test_nothing_is_published_before_the_quality_gate_passes(dagbag):
    for dag in pipelines(dagbag):
        publish = dag.get_task("publish_gold")
        upstream_ids = {t.task_id for t in publish.get_flat_relatives(upstream=True)}
        gate = {t.task_id for t in dag.tasks if t.task_id.startswith("quality_gate.")}
        assert gate <= upstream_ids
        assert {"silver", "gold", "stage_gold"} <= upstream_ids


def test_each_pipeline_file_shows_its_four_stages_chained_in_order(dagbag):
    for dag in pipelines(dagbag):
        source = (REPO / "dags" / f"{dag.dag_id}.py").read_text()
        chain = r"ingest_inputs\((\w+)\) >> build_lake\(\1\) >> publish_gold\(\1\) >> refresh_bi\(\1\)"
        assert re.search(chain, source), f"dags/{dag.dag_id}.py does not show the pipeline's chain"
        groups = {child.group_id for child in dag.task_group.children.values() if hasattr(child, "children")}
        assert groups == {"ingest", "lake", "publish", "bi"}


class _XComs:
    """What a task instance keeps in XCom during one test: ``xcom_push`` then ``xcom_pull``."""

    def __init__(self):
        self.values: dict[tuple[str, str], object] = {}

    def xcom_push(self, key, value):
        self.values[("stage_gold", key)] = value

    def xcom_pull(self, task_ids, key="return_value"):
        return self.values[(task_ids, key)]


def test_the_gate_checks_the_staging_schema_its_own_run_staged_in(dagbag, monkeypatch):
    from pulse import tasks
    from pulse.warehouse import staging_schema

    monkeypatch.setattr(tasks, "stage", lambda source, run_id: {})
    for dag in pipelines(dagbag):
        source = dag.dag_id.removesuffix("_analytics")
        xcoms = _XComs()
        dag.get_task("stage_gold").python_callable(run_id="manual__2026-11-01T00:00:00+00:00", ti=xcoms)
        schema = staging_schema(source, "manual__2026-11-01T00:00:00+00:00")
        assert schema.startswith(f"staging_{source}_")
        gate = [t for t in dag.tasks if t.task_id.startswith("quality_gate.")]
        for task in gate:
            rendered = task.render_template(getattr(task, "table", None) or task.sql, {"ti": xcoms})
            assert f"{schema}." in rendered, f"{task.task_id} checks {rendered}"
