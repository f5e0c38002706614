"""``simulator_scale``: the creator simulator's ``scale`` parameter, and the ingest that sends it only to a
connection marked as a simulator (a real API never sees it)."""

from __future__ import annotations

import datetime as dt
import json

import requests

from devstack.simulators.creator_api import SimulatorConfig, running_simulator
from devstack.stack import http_connection
from pulse.inputs import HttpEndpoint, RunWindow
from pulse.lake import read_bronze
from pulse.simulator_scale import SIMULATOR_MARK

WINDOW = {"start_date": "2026-11-01", "end_date": "2026-11-08"}


def records(base_url: str, resource: str, **params) -> list[dict]:
    out, url, query = [], f"{base_url}/api/{resource}", {**WINDOW, "limit": 100, **params}
    while url:
        page = requests.get(url, params=query, timeout=10).json()
        out += page["data"]
        url, query = (base_url + page["links"]["next"], None) if page["links"]["next"] else (None, None)
    return out


def test_scale_serves_that_share_of_the_creators_and_a_smaller_scale_is_a_subset():
    with running_simulator(SimulatorConfig(seed=5, creators=40)) as base_url:
        full = records(base_url, "demographics")
        half = records(base_url, "demographics", scale=0.5)
        double = records(base_url, "engagement", scale=2)
        assert len(full) == 40 and len(half) == 20
        assert half == full[:20]  # a creator's records do not depend on the scale
        assert {r["creator_id"] for r in double} > {r["creator_id"] for r in records(base_url, "engagement")}
        assert len({r["creator_id"] for r in double}) == 80  # paged through links.next, which keeps scale=2
        for bad in ("0", "-1", "many", "1000"):
            answer = requests.get(f"{base_url}/api/demographics", params={**WINDOW, "scale": bad}, timeout=10)
            assert answer.status_code == 400 and "scale must be" in answer.json()["error"]["message"]


def ingest_demographics(monkeypatch, tmp_path, conn: dict, scale: float | None) -> int:
    monkeypatch.setenv("AIRFLOW_CONN_CREATOR_SIM", json.dumps(conn))
    monkeypatch.setenv("PULSE_LAKE_ROOT", str(tmp_path))
    endpoint = HttpEndpoint("demographics", conn_id="creator_sim", path="api/demographics", health_path="api/health")
    window = RunWindow(dt.date(2026, 11, 8), dt.date(2026, 11, 1), dt.date(2026, 11, 8), simulator_scale=scale)
    endpoint.ingest("creator", window)
    return read_bronze(tmp_path / "bronze" / "creator" / "demographics").num_rows


def test_the_ingest_sends_the_scale_only_to_a_connection_marked_as_a_simulator(monkeypatch, tmp_path):
    with running_simulator(SimulatorConfig(seed=5, creators=40)) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        marked = http_connection(port, simulator=True)
        assert marked["extra"] == {SIMULATOR_MARK: "true"}
        assert ingest_demographics(monkeypatch, tmp_path / "a", marked, 0.25) == 10
        assert ingest_demographics(monkeypatch, tmp_path / "b", http_connection(port), 0.25) == 40  # a "real" API
        assert ingest_demographics(monkeypatch, tmp_path / "c", marked, None) == 40
