"""docker-compose.yaml cannot run here (no Docker engine), so check every consistency that can be."""

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from pulse.sources import SOURCES

REPO = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")


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
    for name in (*AIRFLOW_SERVICES, "airflow-init", "airflow-db", "warehouse", "spark-master", "spark-worker",
                 "creator-api"):
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


def test_spark_connection_agrees_with_the_master_the_workers_join(compose):
    env = compose["services"]["airflow-scheduler"]["environment"]
    spark = json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])
    master_url = f"{spark['host']}:{spark['port']}"
    assert master_url in " ".join(compose["services"]["spark-worker"]["command"])
    assert f"--port {spark['port']}" in " ".join(compose["services"]["spark-master"]["command"])


def test_mounted_code_exists_in_the_repo_and_is_on_every_pythonpath(compose):
    for name in (*AIRFLOW_SERVICES, "spark-master", "spark-worker"):
        service = compose["services"][name]
        mounts = {m.split(":")[1]: m.split(":")[0] for m in service["volumes"]}
        for target in ("/opt/pulse/dags", "/opt/pulse/include", "/opt/pulse/spark_jobs", "/opt/pulse/lake"):
            assert target in mounts, f"{name} does not mount {target}"
        for source in mounts.values():
            if source.startswith("./"):
                assert (REPO / source).is_dir(), f"{source} mounted into {name} does not exist"
        assert service["environment"]["PYTHONPATH"] == "/opt/pulse/include:/opt/pulse"
        assert service["environment"]["PULSE_LAKE_ROOT"] == "/opt/pulse/lake"


def test_every_long_running_service_has_a_healthcheck_and_one_image_serves_airflow_and_spark(compose):
    services = compose["services"]
    for name, service in services.items():
        if name != "airflow-init":
            assert "healthcheck" in service, f"{name} has no healthcheck"
    images = {services[n]["image"] for n in (*AIRFLOW_SERVICES, "spark-master", "spark-worker")}
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
    from pulse.simulators.spotify_api import Catalogue, parse_args, refresh_token_of

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
