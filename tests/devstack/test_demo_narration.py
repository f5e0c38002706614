"""``make demo``'s narration, on real ``airflow dags test`` runs of a small DAG.

The probe DAG has the shapes the narration reads: an ingest task that returns its record count, a
``stage_gold`` that returns rows per table, a two-task ``quality_gate`` group told as one line, a skipped
task, and a task that fails with a known exception when the run's conf asks it to. Each run is started and
followed by ``python -m devstack.narrate`` (what ``make demo`` uses), reading Airflow's metadata database.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.airflow_runner import AirflowRunner
from tests.processes import run as run_bounded

pytestmark = pytest.mark.timeout(600)

ANSI = re.compile(r"\x1b\[[0-9;]*m")

PROBE_DAG = textwrap.dedent('''
    import pendulum
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import TaskGroup, dag, task


    @dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["probe"],
         default_args={"retries": 0})
    def narration_probe():
        @task
        def ingest_things():
            return {"records": 12345, "pages": 3}

        @task
        def stage_gold():
            return {"fact_a": 1000, "dim_b": 24}

        with TaskGroup("quality_gate"):
            checks = [EmptyOperator(task_id="check_fact_a"), EmptyOperator(task_id="check_dim_b")]

        @task.short_circuit
        def optional_selected():
            return False

        @task
        def publish(dag_run=None):
            if (dag_run.conf or {}).get("fail"):
                raise ValueError("row 7 of fact_a has no key")

        @task
        def refresh_reporting():
            return [None, [("probe_kpis", 1), ("probe_trend", 30)]]  # tuples, as SQLExecuteQueryOperator returns

        ingest_things() >> stage_gold() >> checks >> publish() >> refresh_reporting()
        optional_selected() >> EmptyOperator(task_id="optional_ingest")


    narration_probe()
''')


@pytest.fixture(scope="module")
def probe_dag_airflow(tmp_path_factory) -> dict[str, str]:
    """The environment of a migrated Airflow home (the e2e tests' runner) whose DAG folder holds the probe."""
    runner = AirflowRunner(tmp_path_factory.mktemp("narration"))
    runner.migrate()
    dags = runner.home / "dags"
    dags.mkdir()
    (dags / "narration_probe.py").write_text(PROBE_DAG)
    return {**runner.base_env(), "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}


def narrate(env: dict[str, str], log: Path, *extra: str):
    command = [sys.executable, "-m", "devstack.narrate", "narration_probe", "2026-03-01", "--log", str(log)]
    return run_bounded([*command, *extra], env=env, timeout=400)


def test_a_run_is_told_task_by_task_with_times_and_counts_plainly_when_not_a_terminal(probe_dag_airflow, tmp_path):
    done = narrate(probe_dag_airflow, tmp_path / "run.log")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert not ANSI.search(done.stdout), "escape codes in plain output"
    assert lines[0] == f"▸ narration_probe  run date 2026-03-01  (log: {tmp_path / 'run.log'})"
    told = {re.sub(r"  \(\d+\.\d s\)$", "", line.strip()) for line in lines[1:]}
    assert "✓ ingest_things  12,345 records in 3 pages" in told
    assert "✓ stage_gold  2 tables, 1,024 rows" in told
    assert "✓ optional_selected" in told
    assert "– optional_ingest  skipped" in told
    assert "✓ publish" in told
    assert "✓ refresh_reporting  2 reporting views, 31 rows" in told
    assert any(re.fullmatch(r"✓ quality_gate  2 of 2 checks passed", t) for t in told), told
    assert not any("check_fact_a" in line for line in lines), "the group's checks are one line"
    assert re.fullmatch(r"✓ narration_probe  8 tasks  \(\d+ s\)", lines[-1]), lines[-1]
    for line in lines[1:-1]:
        assert re.search(r"\(\d+\.\d s\)$|skipped$", line), line
    assert "Traceback" not in done.stdout and "[DAG TEST]" not in done.stdout  # the log stays in its file
    assert "[DAG TEST]" in (tmp_path / "run.log").read_text()


def test_on_a_terminal_the_same_lines_carry_colour(probe_dag_airflow, tmp_path):
    done = narrate(probe_dag_airflow, tmp_path / "run.log", "--terminal")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ANSI.search(done.stdout), "no colour on a terminal"
    plain = ANSI.sub("", done.stdout)
    assert "✓ ingest_things  12,345 records in 3 pages" in plain
    assert re.search(r"✓ narration_probe  8 tasks", plain)


def test_a_failed_task_is_named_with_its_first_exception_and_the_log(probe_dag_airflow, tmp_path):
    log = tmp_path / "failed.log"
    done = narrate(probe_dag_airflow, log, "--conf", '{"fail": true}')
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(re.fullmatch(r"  ✗ publish  failed  \(\d+\.\d s\)", line) for line in lines), lines
    tail = lines[-3:]
    assert tail == ["✗ narration_probe, task publish failed",
                    "  error: ValueError: row 7 of fact_a has no key",
                    f"  log:   {log}"], lines
    assert "Traceback" in log.read_text()


def test_headlines_say_what_each_kind_of_pulse_task_returned():
    from devstack.narrate import headline

    assert headline("ingest_content", {"endpoint": "content", "records": 60060, "pages": 61}) == \
        "60,060 records in 61 pages"
    assert headline("ingest_exports", {"files_ingested": 5, "files_rejected": 1,
                                       "rows_by_format": {"classic": 15477, "extended": 5473}}) == \
        "5 files, 20,950 rows, 1 rejected"
    assert headline("ingest_api", {"playlists": 3, "recently_played": 50}) == "3 playlists, 50 recently played"
    youtube = {"records": 120, "pages": 9, "youtube_videos": 60, "quota_units": 9, "partial": False, "stopped": None}
    assert headline("ingest_youtube", youtube) == "120 records in 9 pages, 9 quota units"
    stopped = {**youtube, "partial": True, "stopped": "the daily quota ran out", "channels_left": 3}
    assert headline("ingest_youtube", stopped) == \
        "120 records in 9 pages, 9 quota units; PARTIAL: the daily quota ran out, 3 channels left for the next run"
    assert headline("stage_gold", {"dim_date": 1324, "agg_top_tracks": 233}) == "2 tables, 1,557 rows"
    views = [None, None, [("spotify_albums", 1767), ("spotify_kpis", 10)]]
    assert headline("refresh_reporting", views) == "2 reporting views, 1,777 rows"
    stored = [None, [{"__classname__": "builtins.tuple", "__version__": 1, "__data__": ["spotify_albums", 1767]}]]
    assert headline("refresh_reporting", stored) == "1 reporting view, 1,767 rows"  # as the XCom table holds it
    counts = {"plays": {"silver_rows": 23080, "quarantined_rows": 2}, "tracks": {"silver_rows": 707}}
    assert headline("silver", None, counts) == "23,787 rows kept, 2 quarantined"
    rerun = "a commit replaced bronze rows silver had read (a rerun or backfill of an ingested date)"
    rebuilt = {"content": {"mode": "full", "reason": rerun, "silver_rows": 9000, "quarantined_rows": 1},
               "engagement": {"mode": "full", "reason": rerun, "silver_rows": 4000, "quarantined_rows": 0},
               "demographics": {"mode": "full", "reason": "--full-refresh", "silver_rows": 100},
               "export_posts": {"mode": "full", "silver_rows": 10}}  # rebuilt every run: no reason
    assert headline("silver", None, rebuilt) == f"full rebuild ({rerun}); 13,110 rows kept, 1 quarantined"
    merged = {"content": {"mode": "incremental", "bronze_rows": 1200, "bronze_partitions": ["2026-11-21"],
                          "silver_rows": 9000, "quarantined_rows": 3},
              "engagement": {"mode": "incremental", "bronze_rows": 300, "bronze_partitions": ["2026-11-21"],
                             "silver_rows": 4000, "quarantined_rows": 0}}
    assert headline("silver", None, merged) == \
        "incremental: 1,500 new bronze rows from 1 partition (2026-11-21); 13,000 rows kept, 3 quarantined"
    spotify_silver = {"plays": {"mode": "incremental", "bronze_rows": 50, "silver_rows": 23080,
                                "quarantined_rows": 0}}
    assert headline("silver", None, spotify_silver) == \
        "incremental: 50 new bronze rows; 23,080 rows kept, 0 quarantined"
    gold = {"mode": "incremental", "slices": {"fact_content": 120, "fact_engagement": 3400, "dates": ["2026-11-20",
                                                                                                 "2026-11-21"]}}
    assert headline("gold", None, gold) == \
        "incremental: 120 posts and 3,400 creator-days (slices) of 2 dates merged; the small tables recomputed"
    spotify = {"mode": "incremental", "slices": {"listeners": 2, "listeners_by_catalogue": 1}}
    assert headline("gold", None, spotify) == \
        "incremental: 2 listeners recomputed (1 for a catalogue change) and merged"
    assert headline("gold", None, {"mode": "full", "reason": "--full-refresh"}) == "full rebuild (--full-refresh)"
    assert headline("publish_gold", None) == ""


def test_known_failures_get_one_hint_and_others_none():
    from devstack.narrate import hint_for

    assert "openjdk-17" in hint_for("RuntimeError: Java was not found: Spark needs a Java 17 runtime.")
    assert "port" in hint_for("OSError: [Errno 98] Address already in use")
    assert "AIRFLOW_CONN_" in hint_for("AirflowNotFoundException: The conn_id `pulse_warehouse` isn't defined")
    assert hint_for("ValueError: row 7 of fact_a has no key") is None


def test_the_first_exception_is_the_failed_tasks_not_an_earlier_tasks():
    from devstack.narrate import first_exception

    log = "\n".join([
        "[DAG TEST] starting task_id=stage_gold map_index=-1",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "KeyError: 'retried and recovered'",
        "[DAG TEST] end task task_id=stage_gold",
        "[DAG TEST] starting task_id=refresh_reporting map_index=-1",
        "[error    ] Task failed with exception",
        "Traceback (most recent call last):",
        '  File "sql.py", line 904, in _run_command',
        "    cur.execute(sql_statement)",
        "psycopg.errors.FeatureNotSupported: unsupported XML feature",
        "DETAIL:  This functionality requires the server to be built with libxml support.",
    ])
    assert first_exception(log, "refresh_reporting") == (
        "psycopg.errors.FeatureNotSupported: unsupported XML feature "
        "(DETAIL:  This functionality requires the server to be built with libxml support.)")
    assert first_exception(log, "publish_gold") is None


def test_a_failure_without_a_traceback_is_told_by_the_last_line_that_names_an_error():
    from devstack.narrate import last_error_line

    log = "starting\nValueError: the key is wrong\nshutting down\n\n"
    assert last_error_line(log) == "ValueError: the key is wrong"
    assert last_error_line("one\ntwo\n") == "two"
    assert last_error_line("") == "(empty log)"
