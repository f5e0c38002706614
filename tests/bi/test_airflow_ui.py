"""The Airflow UI that ``make airflow`` starts (``airflow standalone``), used as a person would.

One ``airflow standalone`` in a temporary home, on a warehouse where both sources are published: a
browser logs in with the generated admin password and sees every Pulse DAG with no import errors;
``pulse_dashboards`` is triggered through the REST API, succeeds, and its dashboards are on disk.
Everything is torn down at the end, stray processes included.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.bi.airflow_standalone import Standalone
from tests.bi.conftest import bi_database

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

DAGS = ("creator_analytics", "pulse_dashboards", "spotify_analytics")
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
    assert standalone._strays() == [], "airflow processes were left running"


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


def test_a_person_logs_in_and_sees_the_dags(airflow, api, browser, screenshots):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{airflow.url}/dags")
        page.wait_for_selector("input[name=username]", timeout=60_000)
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", airflow.password())
        page.locator("button[type=submit]").click()
        for dag_id in DAGS:
            page.get_by_text(dag_id, exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(screenshots / "airflow-dags.png"))
    finally:
        context.close()


def test_pulse_dashboards_triggered_through_the_rest_api_succeeds_and_writes_the_dashboards(airflow, api,
                                                                                            browser, screenshots):
    base = f"{airflow.url}/api/v2/dags/pulse_dashboards"
    assert api.patch(base, json={"is_paused": False}, timeout=TIMEOUT).ok
    run = api.post(f"{base}/dagRuns", json={"logical_date": None, "note": "triggered by the UI test"}, timeout=TIMEOUT)
    assert run.ok, run.text
    run_id = run.json()["dag_run_id"]
    state = (poll(api, f"{base}/dagRuns/{run_id}", lambda a: a["state"] in ("success", "failed"), 240)
             or {}).get("state")
    assert state == "success", f"pulse_dashboards ended {state}; log: {airflow.log}"
    index = airflow.home / "dashboards" / "index.html"
    assert index.exists() and (airflow.home / "dashboards" / "spotify.html").exists()

    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{airflow.url}/dags")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", airflow.password())
        page.locator("button[type=submit]").click()
        page.goto(f"{airflow.url}/dags/pulse_dashboards/runs/{run_id}")
        page.get_by_text("render_dashboards").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(screenshots / "airflow-pulse-dashboards-run.png"))
    finally:
        context.close()
