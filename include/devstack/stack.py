"""The embedded default stack: a real PostgreSQL server and the API simulators, started by Pulse.

``python -m devstack.stack up`` starts what is not already running and writes ``$PULSE_HOME/stack.env``,
the Airflow connections of the embedded stack as shell exports. Each export only applies when the
variable is not set already, so pointing Pulse at an external system is setting one variable, e.g.
``AIRFLOW_CONN_PULSE_WAREHOUSE=postgresql://user:pass@db:5432/pulse`` — and then nothing embedded
starts for it. A variable that holds the embedded stack's own connection (what ``stack.env`` says, as in
a shell that sourced it, or a warehouse socket under ``$PULSE_HOME``) is not external: ``up`` restarts
what is down behind it.

- ``pulse_warehouse``: PostgreSQL from the ``pgserver`` wheel, data in ``$PULSE_HOME/pgdata``,
  reached through its Unix socket (it listens on no TCP port).
- ``creator_api``: the creator API simulator on ``127.0.0.1:$PULSE_CREATOR_API_PORT`` (8765).
- ``spotify_api``: the Spotify Web API simulator on ``127.0.0.1:$PULSE_SPOTIFY_API_PORT`` (8766), with
  the simulator's app credentials, its playlists and the refresh token of its listener ``$PULSE_SPOTIFY_LISTENER``
  (``sim-listener``).
- ``youtube_api``: the YouTube Data API v3 simulator on ``127.0.0.1:$PULSE_YOUTUBE_API_PORT`` (8767), on the
  real datasets of ``../shared/realdata/creator/datasets`` (not started, and no connection, when they are absent),
  with its dummy API key and channels of its data: two of ours (:data:`YOUTUBE_OURS`) and comedy channels as
  competitors (:data:`YOUTUBE_COMPETITORS`).
- ``spark_default``: ``local[*]``, never the Spark provider's silent ``yarn`` default.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pulse.config import REPO_ROOT, pulse_home

WAREHOUSE_DB = "pulse"
# Channels of the YouTube simulator's real data (titles; ids are derived from them): ours, and competitors in the
# same category (Comedy, category 23, in the 2017 trending data; Dude Perfect from the 2023 top channels, which
# has statistics and no videos in the data).
YOUTUBE_OURS = ("CollegeHumor", "Cracked")
YOUTUBE_COMPETITORS = ("The Tonight Show Starring Jimmy Fallon", "Jimmy Kimmel Live", "Late Night with Seth Meyers",
                       "Good Mythical Morning", "jacksfilms", "Team Coco")
YOUTUBE_COMPETITORS_2023 = ("Dude Perfect",)


def spark_connection() -> dict:
    return {"conn_type": "spark", "host": "local[*]", "extra": {"deploy-mode": "client"}}


def postgres_connection(socket_dir: Path, port: int = 5432) -> dict:
    return {"conn_type": "postgres", "host": str(socket_dir), "port": port, "login": "postgres",
            "schema": WAREHOUSE_DB}


def http_connection(port: int, host: str = "127.0.0.1", simulator: bool = False) -> dict:
    """An HTTP connection; ``simulator`` marks it as one of Pulse's simulators (``X-Pulse-Simulator`` in its
    extra), the only kind a run sends its ``simulator_scale`` to."""
    conn = {"conn_type": "http", "host": host, "port": port, "schema": "http"}
    if simulator:
        from pulse.simulator_scale import SIMULATOR_MARK

        conn["extra"] = {SIMULATOR_MARK: "true"}
    return conn


def spotify_connection(port: int, config, listener: str | None, host: str = "127.0.0.1") -> dict:
    """The ``spotify_api`` connection for a Spotify simulator with ``config`` (its SimulatorConfig):
    the app's credentials, the token URL, the playlists to pull and ``listener``'s refresh token."""
    from devstack.simulators.spotify_api import Catalogue, refresh_token_of

    extra = {"token_url": f"http://{host}:{port}/api/token",
             "playlist_ids": ",".join(Catalogue(config).playlists)}
    if listener:
        extra.update(listener=listener, refresh_token=refresh_token_of(listener))
    return {**http_connection(port, host), "login": config.client_id, "password": config.client_secret,
            "extra": extra}


def youtube_connection(port: int, api_key: str | None = None, host: str = "127.0.0.1") -> dict:
    """The ``youtube_api`` connection for the YouTube simulator: its dummy key and the channels to crawl."""
    from devstack.simulators.youtube_api import DEFAULT_API_KEY, GLOBAL_FILE, TRENDING_FILE, channel_id_of

    competitors = [*(channel_id_of(TRENDING_FILE, t) for t in YOUTUBE_COMPETITORS),
                   *(channel_id_of(GLOBAL_FILE, t) for t in YOUTUBE_COMPETITORS_2023)]
    return {**http_connection(port, host), "password": api_key or DEFAULT_API_KEY,
            "extra": {"channel_ids": ",".join(channel_id_of(TRENDING_FILE, t) for t in YOUTUBE_OURS),
                      "competitor_channel_ids": ",".join(competitors)}}


def conn_env_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


# --- PostgreSQL ---------------------------------------------------------------------------------

def start_postgres(pgdata: Path) -> dict:
    """Start (or find running) the embedded server and make sure the warehouse database exists."""
    import pgserver  # heavy: only when the embedded warehouse is wanted

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    import psycopg

    with psycopg.connect(host=str(info.socket_dir), port=info.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (WAREHOUSE_DB,)).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {WAREHOUSE_DB}")
    return postgres_connection(info.socket_dir, info.port)


def stop_postgres(pgdata: Path) -> bool:
    if not (pgdata / "postmaster.pid").exists():
        return False
    from pgserver import _commands

    user = "pgserver" if os.geteuid() == 0 else None
    try:
        _commands.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        return False
    return True


# --- simulators ---------------------------------------------------------------------------------

def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_simulator(run_dir: Path, name: str, module: str, port: int, args: list[str],
                    health_path: str = "api/health") -> dict:
    """Start a simulator as a background process unless one already answers on ``port``."""
    health = f"http://127.0.0.1:{port}/{health_path}"
    if _healthy(health):
        return http_connection(port, simulator=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_file = (run_dir / f"{name}.log").open("ab")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "include"), str(REPO_ROOT)])}
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), *args],
        stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, env=env,
    )
    (run_dir / f"{name}.pid").write_text(str(process.pid))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _healthy(health):
            return http_connection(port, simulator=True)
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"the {name} simulator did not start on port {port}: see {run_dir / (name + '.log')}")


def stop_simulator(run_dir: Path, name: str) -> bool:
    pid_file = run_dir / f"{name}.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
    except (ProcessLookupError, ValueError):
        pass
    pid_file.unlink()
    return True


# --- the whole stack ----------------------------------------------------------------------------

def written_connections(home: Path) -> dict[str, str]:
    """The connections the last ``up`` wrote to ``$PULSE_HOME/stack.env``, by variable name."""
    path = home / "stack.env"
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        if match := re.search(r"then export (AIRFLOW_CONN_\w+)=(.*); fi$", line):
            found[match[1]] = shlex.split(match[2])[0]
    return found


def embedded_or_unset(conn_id: str, written: dict[str, str]) -> bool:
    """Whether the embedded stack provides ``conn_id``: its variable is unset, or holds the stack's own
    connection (the value ``stack.env`` holds, or for the warehouse a server socket under ``$PULSE_HOME``)."""
    from pulse.tasks import is_embedded_warehouse

    name = conn_env_name(conn_id)
    value = os.environ.get(name)
    if value is None or value == written.get(name):
        return True
    if conn_id == "pulse_warehouse" and value.lstrip().startswith("{"):
        return is_embedded_warehouse(json.loads(value).get("host"))
    return False


def up(home: Path | None = None) -> dict[str, dict | str]:
    """Start every embedded service whose connection is not set to an external system in the environment
    (a variable holding the stack's own connection does not count: what is down behind it is restarted).

    Returns the connections, by id, that the embedded stack provides."""
    home = home or pulse_home()
    written = written_connections(home)

    def embedded(conn_id: str) -> bool:
        return embedded_or_unset(conn_id, written)

    conns: dict[str, dict | str] = {}
    if embedded("spark_default"):
        conns["spark_default"] = spark_connection()
    if embedded("pulse_warehouse"):
        conns["pulse_warehouse"] = start_postgres(home / "pgdata")
    if embedded("creator_api"):
        port = int(os.environ.get("PULSE_CREATOR_API_PORT", "8765"))
        sim_args = shlex.split(os.environ.get("PULSE_CREATOR_API_ARGS", "--seed 42 --creators 1000"))
        conns["creator_api"] = start_simulator(home / "run", "creator_api", "devstack.simulators.creator_api",
                                               port, sim_args)
    if embedded("spotify_api"):
        conns["spotify_api"] = start_spotify_simulator(home / "run")
    if embedded("youtube_api") and (youtube := start_youtube_simulator(home / "run")):
        conns["youtube_api"] = youtube
    return conns


def start_spotify_simulator(run_dir: Path) -> dict:
    """The Spotify simulator, with one listener whose recently played the API input pulls."""
    from devstack.simulators.spotify_api import parse_args

    port = int(os.environ.get("PULSE_SPOTIFY_API_PORT", "8766"))
    listener = os.environ.get("PULSE_SPOTIFY_LISTENER", "sim-listener")
    sim_args = ["--listener", listener, *shlex.split(os.environ.get("PULSE_SPOTIFY_API_ARGS", "--seed 42"))]
    _, config = parse_args(["--port", str(port), *sim_args])
    start_simulator(run_dir, "spotify_api", "devstack.simulators.spotify_api", port, sim_args, health_path="health")
    return spotify_connection(port, config, listener)


def start_youtube_simulator(run_dir: Path) -> dict | None:
    """The YouTube simulator on its real datasets, or None (saying so) when they are not there."""
    from devstack.simulators.youtube_api import DEFAULT_DATASETS, GLOBAL_FILE, TRENDING_FILE

    if not all((DEFAULT_DATASETS / f).is_file() for f in (TRENDING_FILE, GLOBAL_FILE)):
        print(f"  youtube_api      not started: its real datasets are not in {DEFAULT_DATASETS}; the creator "
              "pipeline skips YouTube")
        return None
    port = int(os.environ.get("PULSE_YOUTUBE_API_PORT", "8767"))
    sim_args = shlex.split(os.environ.get("PULSE_YOUTUBE_API_ARGS", ""))
    start_simulator(run_dir, "youtube_api", "devstack.simulators.youtube_api", port, sim_args, health_path="health")
    return youtube_connection(port)


def down(home: Path | None = None) -> None:
    home = home or pulse_home()
    stopped = [name for name in ("creator_api", "spotify_api", "youtube_api") if stop_simulator(home / "run", name)]
    if stop_postgres(home / "pgdata"):
        stopped.append("postgres")
    print("stopped: " + (", ".join(stopped) or "nothing was running"))


def env_file_text(conns: dict[str, dict | str]) -> str:
    """Shell exports of the connections, each applied only when not already set."""
    lines = ["# Written by `python -m devstack.stack up`: the embedded stack's Airflow connections."]
    for conn_id, value in conns.items():
        name = conn_env_name(conn_id)
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f'if [ -z "${{{name}:-}}" ]; then export {name}={shlex.quote(text)}; fi')
    return "\n".join(lines) + "\n"


def connection_env(conns: dict[str, dict | str]) -> dict[str, str]:
    """The same connections as environment variables, for a subprocess."""
    return {conn_env_name(k): v if isinstance(v, str) else json.dumps(v) for k, v in conns.items()}


def warehouse_libpq_params() -> dict[str, str]:
    """libpq settings (PGHOST, PGPORT, …) of the ``pulse_warehouse`` connection in the environment."""
    from airflow.models.connection import Connection

    value = os.environ.get(conn_env_name("pulse_warehouse"))
    if not value:
        raise SystemExit("pulse_warehouse is not set: run `make stack` (or set AIRFLOW_CONN_PULSE_WAREHOUSE)")
    conn = (Connection.from_json(value, conn_id="pulse_warehouse") if value.lstrip().startswith("{")
            else Connection(conn_id="pulse_warehouse", uri=value))
    params = {"PGHOST": conn.host or "", "PGPORT": str(conn.port or 5432), "PGUSER": conn.login or "",
              "PGDATABASE": conn.schema or WAREHOUSE_DB}
    if conn.password:
        params["PGPASSWORD"] = conn.password
    return params


def psql_binary() -> str:
    """psql from the pgserver wheel (so no client install is needed), else the one on PATH."""
    import pgserver._commands as commands

    bundled = Path(commands.POSTGRES_BIN_PATH) / "psql"
    return str(bundled) if bundled.exists() else "psql"


def psql() -> None:
    os.execvpe(psql_binary(), [psql_binary()], {**os.environ, **warehouse_libpq_params()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.stack", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "psql"])
    args = parser.parse_args(argv)
    home = pulse_home()
    if args.command == "psql":
        psql()
    if args.command == "down":
        down(home)
        return
    conns = up(home)
    env_path = home / "stack.env"
    env_path.write_text(env_file_text(conns))
    for conn_id, value in conns.items():
        target = value.get("host") if isinstance(value, dict) else "(set)"
        print(f"  {conn_id:16} {target}")
    print(f"connections written to {env_path}")
    stale = [name for name, value in connection_env(conns).items() if os.environ.get(name) not in (None, value)]
    if stale:
        print(f"this shell holds older values of {', '.join(stale)}: source {env_path} again (set -a; source …)")


if __name__ == "__main__":
    main()
