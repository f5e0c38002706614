"""`airflow dags test spotify_analytics` end to end: the Web API simulator and real exports → gold.

A fault-free run on Spark ``local[*]`` with the real streaming-history exports in the inbox is the reference.
A second run of the same date on the same lake, with the same exports dropped again under other names,
against a simulator with every fault on, whose driver starts in an unrelated directory, must publish the same
gold, row for row; and every listener's plays stay that listener's. Both run Spark tuned for tiny data
(tests/spark_tuning.py); the creator's e2e reference run keeps Pulse's own settings.

One run checks these together: each DAG run costs minutes of the suite's budget, and what each one alone
does is proven on smaller pieces too (the faults in tests/ingest, re-dropped exports in
tests/ingest/test_spotify_exports.py and tests/spark/test_spotify_silver.py). The creator's e2e module sends
its rerun's Spark jobs to a standalone cluster; nothing in how the two pipelines' jobs are submitted differs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.demo import LISTENERS, fill_inbox
from devstack.simulators.faults import request_fault_mix
from devstack.simulators.spotify_api import SimulatorConfig, running_simulator
from devstack.stack import spotify_connection
from pulse.sources.spotify import SPOTIFY

# A module fixture runs the reference DAG run inside the first test; the faults test runs one more.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

RUN_DATE = "2026-11-20"
API_LISTENER = "sim-listener"
SIM = dict(seed=11, artists=12, playlists=2, playlist_size=(5, 20), listeners=(API_LISTENER,),
           as_of=datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
# 502s, 429 bursts with Retry-After, slow and truncated answers meeting 30 % of requests, and record noise;
# with seed 11 the crawl's few dozen requests meet each kind.
FAULTS = request_fault_mix(0.3, slow_seconds=0.2, rate_limit_retry_after=1, malformed_rate=0.3,
                           duplicate_rate=0.3)


def run(runner, warehouse, lake, inbox, sim_config, log_name, cwd=None, extra_env=None):
    """One ``airflow dags test`` of the Spotify DAG."""
    env = {"PULSE_SPOTIFY_INBOX": str(inbox), "PULSE_INBOX_WAIT_SECONDS": "5", "PULSE_HTTP_RETRY_WAIT_SECONDS": "0.05",
           **(extra_env or {})}
    with running_simulator(sim_config) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        conns = {"pulse_warehouse": warehouse.connection,
                 "spotify_api": spotify_connection(port, sim_config, API_LISTENER)}
        return runner.dags_test("spotify_analytics", RUN_DATE, json.dumps({}), lake, conns, env, log_name, cwd)


@pytest.fixture(scope="module")
def real_exports(realdata):
    return realdata / "spotify" / "history"


@dataclass(frozen=True)
class Reference:
    """The fault-free run: its published gold, and the lake and inbox it left."""

    gold: dict[str, list[tuple]]
    lake: Path
    inbox: Path


@pytest.fixture(scope="module")
def reference(runner, warehouse, real_exports, tmp_path_factory) -> Reference:
    lake, inbox = tmp_path_factory.mktemp("spotify_lake"), tmp_path_factory.mktemp("inbox")
    fill_inbox(real_exports, inbox)
    done = run(runner, warehouse, lake, inbox, SimulatorConfig(**SIM), "clean")
    assert done.returncode == 0, f"fault-free run failed; log: {runner.home / 'clean.log'}\n{done.stdout[-4000:]}"
    return Reference(warehouse.gold(SPOTIFY), lake, inbox)


def test_a_fault_free_run_publishes_every_listener_from_exports_and_the_api(reference, warehouse):
    for table in SPOTIFY.gold_tables:
        assert reference.gold[table.name] or table.allow_empty, f"gold.{table.name} is empty"
    listeners = {r[0] for r in warehouse.query("SELECT DISTINCT listener FROM gold.agg_listener_artists")}
    assert listeners == {*LISTENERS.values(), API_LISTENER}
    kpis = {r[0] for r in warehouse.query("SELECT listener FROM reporting.spotify_kpis")}
    assert kpis == listeners


def test_a_rerun_with_every_fault_on_and_the_exports_dropped_again_publishes_the_same_gold(
        runner, warehouse, reference, tmp_path_factory):
    ingested = sorted(reference.inbox.rglob("_ingested/*.json"))
    assert ingested, "the reference run ingested no export"
    for export in ingested:  # the same exports dropped again, under other names: nothing is counted twice
        shutil.copyfile(export, export.parent.parent / f"again-{export.name}")
    config = SimulatorConfig(**SIM, faults=FAULTS)
    done = run(runner, warehouse, reference.lake, reference.inbox, config, "faults",
               cwd=tmp_path_factory.mktemp("spotify_driver_cwd"))
    assert done.returncode == 0, f"the run with faults failed; log: {runner.home / 'faults.log'}\n{done.stdout[-4000:]}"
    log = (runner.home / "faults.log").read_text()
    assert "answered 502" in log and "answered 429" in log, "the faults did not fire"
    warehouse.assert_gold_equals(reference.gold, SPOTIFY, "rerun with faults and re-dropped exports")
