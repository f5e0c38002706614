"""The pipeline's Python tasks, outside a DAG run."""

import datetime as dt
import json
import zipfile

import pytest

from pulse import config, tasks
from tests.ingest.scripted_server import scripted_server


def test_a_scheduled_run_asks_for_its_data_interval():
    end = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    assert tasks.ingest_window({}, end, 1) == (dt.date(2026, 11, 21), dt.date(2026, 11, 22))


def test_lookback_days_widens_the_window_backwards():
    end = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    assert tasks.ingest_window({"lookback_days": 90}, end, 1) == (dt.date(2026, 8, 24), dt.date(2026, 11, 22))


def test_a_backfill_range_from_the_trigger_form_wins():
    end = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    params = {"start_date": "2026-01-01", "end_date": "2026-02-01", "lookback_days": 3}
    assert tasks.ingest_window(params, end, 1) == (dt.date(2026, 1, 1), dt.date(2026, 2, 1))
    with pytest.raises(ValueError, match="empty ingest window"):
        tasks.ingest_window({"start_date": "2026-02-01", "end_date": "2026-02-01"}, end, 1)


def test_a_missing_java_is_reported_with_what_to_do(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PULSE_HOME", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"Java was not found: Spark needs a Java 17 runtime.*JAVA_HOME"):
        tasks.package_spark_jobs(check_java=True)
    assert not (tmp_path / "dist").exists()


def test_missing_delta_jars_are_reported_with_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("PULSE_HOME", str(tmp_path))
    monkeypatch.delenv("PULSE_SPARK_JARS_DIR", raising=False)
    (tmp_path / "jars").mkdir()
    (tmp_path / "jars" / "delta-storage-4.4.0.jar").write_bytes(b"")  # one of the two is not enough
    with pytest.raises(config.SparkJarsMissing, match=r"Delta Lake jars are missing from .*jars.*run `make jars`"):
        tasks.package_spark_jobs(check_java=False)
    assert not (tmp_path / "dist").exists()


def test_the_spark_jobs_package_is_zipped_with_its_package_paths(monkeypatch, tmp_path):
    jars = config.spark_jars_dir()  # resolved by `make jars`, which `make test` runs first
    monkeypatch.setenv("PULSE_HOME", str(tmp_path))
    monkeypatch.setenv("PULSE_SPARK_JARS_DIR", str(jars))
    path = tasks.package_spark_jobs(check_java=False)
    names = zipfile.ZipFile(path).namelist()
    assert "spark_jobs/__init__.py" in names and "spark_jobs/common/__init__.py" in names


def test_an_api_that_stays_down_times_out_naming_its_url(monkeypatch):
    from airflow.sdk.exceptions import AirflowSensorTimeout

    from pulse.api_sensor import ApiAvailableSensor

    monkeypatch.setenv("AIRFLOW_CONN_DOWN_API", json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 9,
                                                            "schema": "http"}))
    sensor = ApiAvailableSensor(task_id="wait", http_conn_id="down_api", endpoint="api/health", mode="poke",
                                timeout=1, poke_interval=0.2)
    assert sensor.poke({}) is False
    with pytest.raises(AirflowSensorTimeout, match=r"down_api at http://127\.0\.0\.1:9/api/health did not answer"):
        sensor.execute({})


def test_the_api_sensor_waits_on_a_busy_or_failing_api_and_fails_at_once_on_a_refused_key(monkeypatch):
    from airflow.sdk.exceptions import AirflowException

    from pulse.inputs import HttpEndpoint

    answers = {"/busy/health": 503, "/limited/health": 429, "/up/health": 200, "/refused/health": 401}
    with scripted_server(lambda path, n, full: (answers[path], {}, {"status": answers[path]})) as (base_url, _):
        monkeypatch.setenv("AIRFLOW_CONN_SOME_API", json.dumps({"conn_type": "http", "host": "127.0.0.1",
                                                                 "port": int(base_url.rsplit(":", 1)[1]),
                                                                 "schema": "http"}))
        for name, ready in (("busy", False), ("limited", False), ("up", True)):
            sensor = HttpEndpoint(name, "some_api", "data", f"{name}/health").sensor(task_id=f"wait_{name}")
            assert sensor.poke({}) is ready, name
        refused = HttpEndpoint("refused", "some_api", "data", "refused/health").sensor(task_id="wait_refused")
        with pytest.raises(AirflowException, match=r"some_api at http://127\.0\.0\.1:\d+/refused/health answered 401"):
            refused.poke({})


def test_without_a_powerbi_connection_or_the_sources_dataset_the_refresh_is_skipped_and_says_so(caplog, monkeypatch):
    caplog.set_level("INFO")
    assert tasks.powerbi_configured("creator", "powerbi_nowhere") is False
    assert "Power BI dataset refresh is skipped" in caplog.text
    monkeypatch.setenv("AIRFLOW_CONN_POWERBI_TEST", json.dumps(
        {"conn_type": "powerbi", "login": "app", "password": "secret",
         "extra": {"tenant_id": "t", "group_id": "g", "creator_dataset_id": "d-creator"}}))
    assert tasks.powerbi_configured("creator", "powerbi_test") is True
    assert tasks.powerbi_configured("spotify", "powerbi_test") is False
    assert "names no spotify_dataset_id, so no spotify dataset is refreshed" in caplog.text


def test_sensors_ask_again_after_their_own_interval_unless_pulse_sensor_poke_seconds_says(monkeypatch, tmp_path):
    from pulse.inputs import ExportInbox, HttpEndpoint, SpotifyWebApi, YouTubeDataApi

    monkeypatch.setenv("PULSE_HOME", str(tmp_path))
    api_inputs = (HttpEndpoint("content", "creator_api", "api/content", "api/health"),
                  SpotifyWebApi(name="api", conn_id="spotify_api"), YouTubeDataApi(name="youtube"))
    inbox = ExportInbox()
    assert [i.sensor(f"wait_{n}").poke_interval for n, i in enumerate(api_inputs)] == [30, 30, 30]
    assert inbox.sensor("wait_inbox").poke_interval == 60
    monkeypatch.setenv("PULSE_SENSOR_POKE_SECONDS", "2")
    assert {i.sensor(f"wait_{n}").poke_interval for n, i in enumerate(api_inputs)} == {2}
    assert inbox.sensor("wait_inbox").poke_interval == 2
