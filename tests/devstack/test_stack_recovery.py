"""The embedded stack comes back after it was stopped, from a shell that sourced its ``stack.env``, and a
task that meets it stopped says what to do. Real processes: the embedded PostgreSQL and both simulators,
started, stopped and started again by ``python -m devstack.stack``, as ``make stack`` / ``make down`` do."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stack_home(monkeypatch):
    """A ``PULSE_HOME`` of its own (not under pytest's temporary root: see the ``postgres`` fixture), with
    the simulators on free ports; ``make down`` at the end."""
    home = Path(tempfile.mkdtemp(prefix="pulse-stack-"))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")},
           "PULSE_HOME": str(home), "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO)]),
           "PULSE_CREATOR_API_PORT": str(free_port()), "PULSE_SPOTIFY_API_PORT": str(free_port()),
           "PULSE_YOUTUBE_API_PORT": str(free_port())}
    yield home, env
    subprocess.run([sys.executable, "-m", "devstack.stack", "down"], env=env, capture_output=True, timeout=120)
    shutil.rmtree(home, ignore_errors=True)


def stack(command: str, env: dict, sourced: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m devstack.stack <command>``, in a shell that sourced ``sourced`` first when given."""
    run = f"exec {sys.executable} -m devstack.stack {command}"
    if sourced:
        run = f"set -a; source {sourced}; set +a; {run}"
    done = subprocess.run(["bash", "-c", run], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def warehouse_answers(connection: dict) -> bool:
    with psycopg.connect(host=connection["host"], port=connection["port"], user=connection["login"],
                         dbname=connection["schema"], connect_timeout=10) as conn:
        return conn.execute("SELECT 1").fetchone()[0] == 1


def test_stack_up_from_a_shell_that_sourced_stack_env_restarts_what_was_stopped_and_keeps_stack_env(
        stack_home, monkeypatch):
    from devstack.stack import written_connections

    home, env = stack_home
    stack("up", env)
    env_file = home / "stack.env"
    written = env_file.read_text()
    connections = written_connections(home)
    # The YouTube simulator serves the real datasets: without them it is not started, and YouTube is skipped.
    from devstack.simulators.youtube_api import DEFAULT_DATASETS

    youtube = ("YOUTUBE_API",) if DEFAULT_DATASETS.is_dir() else ()
    assert set(connections) == {f"AIRFLOW_CONN_{c}" for c in ("SPARK_DEFAULT", "PULSE_WAREHOUSE", "CREATOR_API",
                                                               "SPOTIFY_API", *youtube)}
    warehouse = json.loads(connections["AIRFLOW_CONN_PULSE_WAREHOUSE"])
    assert warehouse_answers(warehouse)

    stack("down", env)
    socket_path = Path(warehouse["host"]) / f".s.PGSQL.{warehouse['port']}"
    assert not socket_path.exists()

    # A task meeting the stopped embedded warehouse says what to do.
    from pulse import tasks

    monkeypatch.setenv("PULSE_HOME", str(home))
    monkeypatch.setenv("AIRFLOW_CONN_PULSE_WAREHOUSE", connections["AIRFLOW_CONN_PULSE_WAREHOUSE"])
    with pytest.raises(tasks.EmbeddedWarehouseDown, match=r"the embedded warehouse is not running: run `make stack`"):
        tasks.warehouse_connection()

    # `make stack` again, from the shell that sourced stack.env: everything is back, stack.env unchanged.
    out = stack("up", env, sourced=env_file).stdout
    assert env_file.read_text() == written
    assert "older values" not in out
    assert warehouse_answers(warehouse)
    for port in (env["PULSE_CREATOR_API_PORT"], env["PULSE_SPOTIFY_API_PORT"],
                 *([env["PULSE_YOUTUBE_API_PORT"]] if youtube else [])):
        with socket.create_connection(("127.0.0.1", int(port)), timeout=10):
            pass


def test_an_external_warehouse_in_the_environment_still_starts_no_embedded_one(stack_home):
    from devstack.stack import embedded_or_unset

    home, _ = stack_home
    external = json.dumps({"conn_type": "postgres", "host": "db.example.internal", "port": 5432, "login": "pulse"})
    socket_under_home = json.dumps({"conn_type": "postgres", "host": str(home / "pgdata"), "port": 5432})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PULSE_HOME", str(home))
        mp.setenv("AIRFLOW_CONN_PULSE_WAREHOUSE", external)
        assert not embedded_or_unset("pulse_warehouse", {})
        mp.setenv("AIRFLOW_CONN_PULSE_WAREHOUSE", socket_under_home)
        assert embedded_or_unset("pulse_warehouse", {})
        mp.setenv("AIRFLOW_CONN_CREATOR_API", "http://api.example.internal")
        assert not embedded_or_unset("creator_api", {})
        assert embedded_or_unset("creator_api", {"AIRFLOW_CONN_CREATOR_API": "http://api.example.internal"})
