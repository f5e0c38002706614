"""The Airflow UI that ``make airflow`` starts (``airflow standalone``), used as a person would.

One ``airflow standalone`` in a temporary home, on a warehouse where both sources are published. The REST
API, with the generated admin password, lists every Pulse DAG with no import errors; ``pulse_dashboards``
is triggered through it, succeeds, its task ran, and its dashboards are on disk. A browser then logs in
and takes screenshots of the DAG list and the run, in a child process with a hard time limit.
Everything is torn down at the end, including processes that left Airflow's process group.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings

import pytest
import requests

from tests.bi.airflow_standalone import Standalone
from tests.bi.conftest import REPO, bi_database
from tests.processes import run as run_bounded

# Airflow standalone starts while Spark builds the test gold; both share 2 cores.
pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(900)]

DAGS = ("creator_analytics", "pulse_dashboards", "pulse_powerbi", "spotify_analytics")
TIMEOUT = 30  # seconds per request: on a busy 2-core machine the api-server may pause while the scheduler works


def poll(session: requests.Session, url: str, done, limit: float):
    """GET ``url`` until ``done(json)`` or ``limit`` seconds pass; a request that times out is retried.
    Returns the last answer's JSON (None if none arrived)."""
    deadline, answer = time.monotonic() + limit, None
    while time.monotonic() < deadline:
        try:
            answer = session.get(url, timeout=TIMEOUT).json()
        except requests.Timeout:
            continue
        if done(answer):
            break
        time.sleep(2)
    return answer


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, postgres, request):
    standalone = Standalone(tmp_path_factory.mktemp("standalone"), {"pulse_warehouse": bi_database(postgres)})
    try:
        standalone.launch()
        request.getfixturevalue("bi_warehouse")  # Spark builds and publishes gold while Airflow starts
        standalone.wait_ready()
        yield standalone
    finally:
        standalone.stop()


@pytest.fixture(scope="module")
def api(airflow):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {airflow.token()}"
    # the dag-processor parses the DAG files after start
    poll(session, f"{airflow.url}/api/v2/dags", lambda a: set(DAGS) <= {d["dag_id"] for d in a["dags"]}, 180)
    return session


def test_the_api_lists_every_pulse_dag_and_no_import_errors(airflow, api):
    dags = {d["dag_id"]: d for d in api.get(f"{airflow.url}/api/v2/dags", timeout=TIMEOUT).json()["dags"]}
    assert set(DAGS) <= set(dags), f"DAGs listed: {sorted(dags)}; log: {airflow.log}"
    errors = api.get(f"{airflow.url}/api/v2/importErrors", timeout=TIMEOUT).json()
    assert errors["total_entries"] == 0, errors
    assert all(dags[d]["tags"] for d in DAGS)


def test_pulse_dashboards_triggered_through_the_rest_api_succeeds_and_writes_the_dashboards(airflow, api,
                                                                                            screenshots):
    base = f"{airflow.url}/api/v2/dags/pulse_dashboards"
    assert api.patch(base, json={"is_paused": False}, timeout=TIMEOUT).ok
    run = api.post(f"{base}/dagRuns", json={"logical_date": None, "note": "triggered by the UI test"}, timeout=TIMEOUT)
    assert run.ok, run.text
    run_id = run.json()["dag_run_id"]
    state = (poll(api, f"{base}/dagRuns/{run_id}", lambda a: a["state"] in ("success", "failed"), 240)
             or {}).get("state")
    assert state == "success", f"pulse_dashboards ended {state}; log: {airflow.log}"
    tasks = api.get(f"{base}/dagRuns/{run_id}/taskInstances", timeout=TIMEOUT).json()["task_instances"]
    assert {t["task_id"]: t["state"] for t in tasks}.get("render_dashboards") == "success", tasks
    index = airflow.home / "dashboards" / "index.html"
    assert index.exists() and (airflow.home / "dashboards" / "spotify.html").exists()

    # For people to look at: a login, the DAG list and this run's page. Asked of the REST API above, the
    # page is not a test of Airflow, so a screenshot that cannot be taken in time is a warning only.
    shots = [sys.executable, "-m", "tests.bi.airflow_screenshots", airflow.url, "pulse_dashboards", run_id,
             "render_dashboards", str(screenshots), *DAGS]
    try:
        done = run_bounded(shots, timeout=240, cwd=REPO, env={**os.environ, "AIRFLOW_PASSWORD": airflow.password()})
        if done.returncode != 0:
            warnings.warn(f"Airflow UI screenshots not taken: {done.stderr[-1500:]}", stacklevel=1)
    except subprocess.TimeoutExpired:
        warnings.warn("Airflow UI screenshots not taken within 240 s: the browser was stopped", stacklevel=1)
