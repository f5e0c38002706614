"""The HTTP input's sensor: a wrong host is told at once, and each API input has its own wait."""

from __future__ import annotations

import json
import logging

import pytest

from pulse.api_sensor import ApiAvailableSensor
from pulse.inputs import API_WAIT_SECONDS, HttpEndpoint, SpotifyWebApi
from tests.ingest.scripted_server import scripted_server
from tests.processes import free_port


def http_connection(monkeypatch, conn_id: str, host: str, port: int) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}",
                       json.dumps({"conn_type": "http", "host": host, "port": port, "schema": "http"}))


def warnings_logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize(("host", "reason"), [
    ("127.0.0.1", "refused the connection"),
    ("pulse-no-such-host.invalid", "could not be found (the host name does not resolve)"),
])
def test_a_host_that_refuses_or_does_not_resolve_is_a_warning_naming_the_url_at_the_first_poke(
        monkeypatch, caplog, host, reason):
    from airflow.sdk.exceptions import AirflowSensorTimeout

    port = free_port()  # nothing listens there: connections are refused
    http_connection(monkeypatch, "wrong_api", host, port)
    sensor = ApiAvailableSensor(task_id="wait_for_engagement", http_conn_id="wrong_api", endpoint="api/health",
                                mode="poke", poke_interval=0.1, timeout=1)
    caplog.set_level(logging.INFO)
    assert sensor.poke({}) is False
    url = f"http://{host}:{port}/api/health"
    assert [w for w in warnings_logged(caplog) if f"wrong_api at {url} {reason}" in w
            and "Check the 'wrong_api' connection" in w], warnings_logged(caplog)
    with pytest.raises(AirflowSensorTimeout, match=f"wrong_api at {url} did not answer within 1s"):
        sensor.execute({})  # it keeps poking, and still fails at its timeout


def test_an_api_that_answers_503_is_waited_for_without_a_warning(monkeypatch, caplog):
    with scripted_server(lambda path, n, full: (503, {}, {"status": 503})) as (base_url, log):
        http_connection(monkeypatch, "busy_api", "127.0.0.1", int(base_url.rsplit(":", 1)[1]))
        sensor = HttpEndpoint("engagement", "busy_api", "api/engagement", "api/health").sensor(task_id="wait")
        caplog.set_level(logging.INFO)
        assert sensor.poke({}) is False
    assert len(log) == 1 and not warnings_logged(caplog)


def test_each_api_input_has_its_own_sensor_timeout_which_the_setting_overrides(monkeypatch):
    monkeypatch.delenv("PULSE_API_WAIT_SECONDS", raising=False)
    default = HttpEndpoint("engagement", "creator_api", "api/engagement", "api/health")
    patient = HttpEndpoint("content", "creator_api", "api/content", "api/health", wait_seconds=7200)
    assert API_WAIT_SECONDS == 1800
    assert default.sensor(task_id="a").timeout == 1800 and patient.sensor(task_id="b").timeout == 7200
    assert SpotifyWebApi(wait_seconds=120).sensor(task_id="c").timeout == 120
    monkeypatch.setenv("PULSE_API_WAIT_SECONDS", "60")
    assert patient.sensor(task_id="d").timeout == 60 and SpotifyWebApi().sensor(task_id="e").timeout == 60


def test_a_spotify_token_url_that_refuses_is_a_warning_naming_it_at_the_first_poke(monkeypatch, caplog):
    port = free_port()
    token_url = f"http://127.0.0.1:{port}/api/token"
    monkeypatch.setenv("AIRFLOW_CONN_WRONG_SPOTIFY", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "login": "app-id",
        "password": "app-secret", "extra": {"token_url": token_url, "playlist_ids": "p1"}}))
    caplog.set_level(logging.INFO)
    assert SpotifyWebApi(conn_id="wrong_spotify").sensor(task_id="wait_for_api").poke({}) is False
    assert [w for w in warnings_logged(caplog) if f"the accounts service at {token_url} refused the connection" in w
            and "Check the 'wrong_spotify' connection's token_url" in w], warnings_logged(caplog)
    assert "app-secret" not in caplog.text
