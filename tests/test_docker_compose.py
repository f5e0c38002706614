"""docker-compose.yaml cannot run here (no Docker engine), so check every consistency that can be."""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from pulse.sources import SOURCES

REPO = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
SPARK_WORKERS = ("spark-worker-1", "spark-worker-2")
SPARK_NODES = ("spark-master", *SPARK_WORKERS)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


def connection_host_port(value: str) -> tuple[str, int | None]:
    if value.lstrip().startswith("{"):
        conn = json.loads(value)
        host = conn["host"]
        host = urlsplit(host).hostname if "://" in host else host
        return host, conn.get("port")
    parts = urlsplit(value.replace("${PULSE_WAREHOUSE_PASSWORD:-pulse}", "pulse"))
    return parts.hostname, parts.port


def test_the_four_airflow_3_components_and_the_stack_services_are_there(compose):
    services = compose["services"]
    for name in (*AIRFLOW_SERVICES, "airflow-init", "airflow-db", "warehouse", *SPARK_NODES, "creator-api",
                 "spotify-api"):
        assert name in services, name
    assert {services[s]["command"] for s in AIRFLOW_SERVICES} == {"api-server", "scheduler", "dag-processor",
                                                                   "triggerer"}


def test_every_connection_a_dag_reads_is_defined_and_points_at_a_service(compose):
    env = compose["services"]["airflow-scheduler"]["environment"]
    needed = {"spark_default", "pulse_warehouse"} | {c for s in SOURCES.values() for c in s.connections}
    for conn_id in needed:
        value = env.get(f"AIRFLOW_CONN_{conn_id.upper()}")
        assert value, f"{conn_id} is not defined for the Airflow services"
        host, port = connection_host_port(value)
        assert host in compose["services"], f"{conn_id} points at {host}, which is not a service"
        service = compose["services"][host]
        if port:
            listens = [str(p).rsplit(":", 1)[-1] for p in service.get("ports", [])]
            command = " ".join(service.get("command", [])) if isinstance(service.get("command"), list) else ""
            assert str(port) in listens or f"--port {port}" in command, f"{host} does not listen on {port}"


def command_of(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def option(command: str, name: str) -> str:
    found = re.search(rf"--{name} (\S+)", command)
    assert found, f"--{name} not in {command!r}"
    return found.group(1)


def test_spark_connection_agrees_with_the_master_both_workers_join(compose):
    env = compose["services"]["airflow-scheduler"]["environment"]
    spark = json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])
    master_url = f"{spark['host']}:{spark['port']}"
    master = command_of(compose["services"]["spark-master"])
    assert option(master, "port") == str(spark["port"])
    assert option(master, "host") == urlsplit(spark["host"]).hostname == "spark-master"
    for name in SPARK_WORKERS:
        worker = compose["services"][name]
        assert f"deploy.worker.Worker {master_url} " in command_of(worker), f"{name} does not join {master_url}"
        assert worker["depends_on"]["spark-master"]["condition"] == "service_healthy"
    web_ports = [option(command_of(compose["services"][n]), "webui-port") for n in SPARK_NODES]
    assert len(set(web_ports)) == len(web_ports), f"two Spark nodes share a web UI port: {web_ports}"


def test_every_healthcheck_probes_the_port_its_service_listens_on(compose):
    for name, service in compose["services"].items():
        test = " ".join(service.get("healthcheck", {}).get("test", []))
        probed = re.search(r"http://localhost:(\d+)", test)
        if not probed:
            continue
        command = command_of(service)
        listens = {m for m in re.findall(r"--(?:web)?(?:ui-)?port (\d+)", command)}
        if service.get("command") == "api-server":
            listens.add("8080")
        if service.get("command") == "scheduler":
            listens.add("8974")  # the scheduler's health check server (ENABLE_HEALTH_CHECK)
        assert probed.group(1) in listens, f"{name}'s healthcheck probes {probed.group(1)}, it listens on {listens}"


def test_published_ports_are_ports_the_services_listen_on(compose):
    for name, service in compose["services"].items():
        command = command_of(service)
        for mapping in service.get("ports", []):
            inside = str(mapping).rsplit(":", 1)[-1]
            if name == "airflow-apiserver":
                assert inside == "8080"
            elif name in ("warehouse", "airflow-db"):
                assert inside == "5432"
            else:
                assert re.search(rf"--(?:webui-)?port {inside}\b", command), f"{name} publishes {inside}: not its port"


def test_mounted_code_exists_in_the_repo_and_is_on_every_pythonpath(compose):
    for name in (*AIRFLOW_SERVICES, *SPARK_NODES):
        service = compose["services"][name]
        mounts = {m.split(":")[1]: m.split(":")[0] for m in service["volumes"]}
        for target in ("/opt/pulse/dags", "/opt/pulse/include", "/opt/pulse/spark_jobs", "/opt/pulse/lake"):
            assert target in mounts, f"{name} does not mount {target}"
        for source in mounts.values():
            if source.startswith("./"):
                assert (REPO / source).is_dir(), f"{source} mounted into {name} does not exist"
            else:
                assert source in compose["volumes"], f"{name} mounts the undeclared volume {source}"
        assert mounts["/opt/pulse/lake"] == "lake", f"{name} does not share the lake volume"
        assert service["environment"]["PYTHONPATH"] == "/opt/pulse/include:/opt/pulse"
        assert service["environment"]["PULSE_LAKE_ROOT"] == "${PULSE_LAKE_ROOT:-/opt/pulse/lake}"


def test_spark_nodes_get_no_airflow_connections(compose):
    for name in SPARK_NODES:
        leaked = [k for k in compose["services"][name]["environment"] if k.startswith("AIRFLOW_CONN_")]
        assert not leaked, f"{name} holds connections (secrets) it does not need: {leaked}"


def test_the_executor_is_a_documented_choice_with_what_it_needs(compose):
    executor = compose["services"]["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"]
    assert executor in ("LocalExecutor", "CeleryExecutor")
    header = (REPO / "docker-compose.yaml").read_text().split("x-pulse-code", 1)[0]
    assert "Executor:" in header and "CeleryExecutor" in header, "the compose file does not explain its executor"
    if executor == "CeleryExecutor":
        assert "redis" in compose["services"] and "airflow-worker" in compose["services"]


def test_every_long_running_service_has_a_healthcheck_and_one_image_serves_airflow_and_spark(compose):
    services = compose["services"]
    for name, service in services.items():
        if name != "airflow-init":
            assert "healthcheck" in service, f"{name} has no healthcheck"
    images = {services[n]["image"] for n in (*AIRFLOW_SERVICES, *SPARK_NODES)}
    assert images == {"pulse-airflow:3.3.2"}
    dockerfile = (REPO / services["airflow-scheduler"]["build"]["dockerfile"]).read_text()
    assert "FROM apache/airflow:3.3.2" in dockerfile and "openjdk-17" in dockerfile


def test_airflow_services_wait_for_the_databases_and_the_init_job(compose):
    for name in AIRFLOW_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["airflow-db"]["condition"] == "service_healthy"
        assert depends["warehouse"]["condition"] == "service_healthy"
        assert depends["airflow-init"]["condition"] == "service_completed_successfully"


def test_the_spotify_connection_matches_the_simulator_the_stack_serves(compose):
    from devstack.simulators.spotify_api import Catalogue, parse_args, refresh_token_of

    conn = json.loads(compose["services"]["airflow-scheduler"]["environment"]["AIRFLOW_CONN_SPOTIFY_API"])
    command = compose["services"]["spotify-api"]["command"]
    _, config = parse_args(command[command.index("--host"):])
    listener = command[command.index("--listener") + 1]
    assert conn["login"] == config.client_id
    assert conn["password"] == f"${{SPOTIFY_CLIENT_SECRET:-{config.client_secret}}}"
    assert conn["extra"]["playlist_ids"].split(",") == list(Catalogue(config).playlists)
    assert conn["extra"]["listener"] == listener
    assert conn["extra"]["refresh_token"] == f"${{SPOTIFY_REFRESH_TOKEN:-{refresh_token_of(listener)}}}"
    assert urlsplit(conn["extra"]["token_url"]).hostname == "spotify-api"


def test_the_youtube_connection_names_the_channels_the_dev_stack_crawls_on_the_simulator_the_stack_serves(compose):
    from devstack.stack import youtube_connection

    conn = json.loads(compose["services"]["airflow-scheduler"]["environment"]["AIRFLOW_CONN_YOUTUBE_API"])
    command = compose["services"]["youtube-api"]["command"]
    expected = youtube_connection(int(command[command.index("--port") + 1]), host="youtube-api")
    assert conn["password"] == f"${{YOUTUBE_API_KEY:-{expected['password']}}}"
    assert {**conn, "password": None} == {**expected, "password": None}
    datasets = command[command.index("--datasets") + 1]
    assert any(v.endswith(f":{datasets}:ro") for v in compose["services"]["youtube-api"]["volumes"])


def test_env_example_lists_every_connection_pulse_reads_with_placeholders_only():
    from pulse.lake_storage import LAKE_CONN_ID
    from pulse.tasks import SPARK_CONN_ID, WAREHOUSE_CONN_ID

    text = (REPO / ".env.example").read_text()
    listed = {m.lower() for m in re.findall(r"^#?\s*AIRFLOW_CONN_([A-Z0-9_]+)=", text, re.MULTILINE)}
    needed = {SPARK_CONN_ID, WAREHOUSE_CONN_ID, LAKE_CONN_ID, "powerbi_default"} | {
        c for s in SOURCES.values() for c in s.connections}
    assert needed <= listed, f".env.example does not list {sorted(needed - listed)}"
    for line in text.splitlines():
        for secret_field in ("password", "client_secret", "sas_token", "refresh_token", "Authorization"):
            for value in re.findall(rf'"{secret_field}": "([^"]*)"', line):
                assert value.startswith("<") or value.startswith("Bearer <"), f"a real-looking secret: {line}"
    assert not re.search(r"AccountKey=|sig=|[A-Za-z0-9+/]{40,}={0,2}", text), ".env.example holds a key or token"
