"""Spark itself on a lake in Azure storage: Delta tables written and read through hadoop-azure (ABFS,
``abfs://``) in Azurite, with the settings :func:`pulse.lake_storage.spark_hadoop_conf` derives from the
``pulse_lake`` connection, set on the test session's Hadoop configuration as spark-submit would.

Azurite emulates the Blob service only, over plain http, so ABFS runs in flat-namespace Blob mode; real
ADLS Gen2 (``abfss://``, its ``dfs`` endpoint, OAuth) is documented, not tested (README, "Scaling out").
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from devstack.stack import connection_env, http_connection
from pulse.lake_storage import delta_table, forget_resolved, lake_path, spark_hadoop_conf
from pulse.sources.creator import CREATOR, CREATOR_API_ENDPOINTS
from tests.builders.creator import gold_rows
from tests.scale_out.azurite import ACCOUNT, AzuriteUnavailable, running_azurite

# Azurite comes from the npm registry the first time (once per PULSE_HOME); two pipeline runs on two lakes.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]

CONTAINERS = {"account key": "lake", "SAS token": "sas-lake"}
RUN_DATES = [date(2026, 11, 19), date(2026, 11, 20)]


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    try:
        with running_azurite(tmp_path_factory.mktemp("azurite")) as emulator:
            for container in CONTAINERS.values():
                emulator.create_container(container)
            yield emulator
    except AzuriteUnavailable as exc:
        pytest.skip(f"Azurite (Azure Storage emulator) unavailable: {exc}")


def lake_connection(azurite, credential: str) -> dict:
    """``pulse_lake`` as the Azure tests define it: a connection string with Azurite's blob endpoint and
    the account key, or a SAS token for the container."""
    container = CONTAINERS[credential]
    return azurite.lake_connection(azurite.connection_string() if credential == "account key"
                                   else azurite.sas_connection_string(container))


def new_root(credential: str) -> str:
    """A new lake in the credential's container, as the Spark jobs and Airflow's tasks both name it."""
    return f"abfs://{CONTAINERS[credential]}@{ACCOUNT}.dfs.core.windows.net/{uuid.uuid4().hex[:8]}"


@contextmanager
def lake_in_azurite(spark, root: str, connection: dict, extra_env: dict[str, str] | None = None) -> Iterator[dict]:
    """``PULSE_LAKE_ROOT`` and ``pulse_lake`` for this process, and the session's Hadoop configuration
    given what ``spark_hadoop_conf`` returns for them (yielded); all restored afterwards. The Azure file
    systems Spark opened are closed, so a later test opens its own with the settings it is given."""
    jvm = spark.sparkContext._jvm
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    with pytest.MonkeyPatch.context() as env:
        for name, value in {**connection_env({"pulse_lake": connection}), "PULSE_LAKE_ROOT": root,
                            **(extra_env or {})}.items():
            env.setenv(name, value)
        forget_resolved()
        settings = spark_hadoop_conf(root)
        names = [key.removeprefix("spark.hadoop.") for key in settings]
        before = {name: hadoop.get(name) for name in names}
        for key, value in settings.items():
            hadoop.set(key.removeprefix("spark.hadoop."), value)
        try:
            yield settings
        finally:
            jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI(root), hadoop).close()
            for name, value in before.items():
                if value is None:
                    hadoop.unset(name)
                else:
                    hadoop.set(name, value)
            forget_resolved()


@pytest.mark.parametrize("credential", list(CONTAINERS))
def test_spark_writes_a_delta_table_to_azure_reads_it_overwrites_it_and_travels_back_to_version_0(
        spark, azurite, credential):
    from delta.tables import DeltaTable

    root = new_root(credential)
    with lake_in_azurite(spark, root, lake_connection(azurite, credential)) as settings:
        assert settings["spark.hadoop.fs.azure.account.auth.type.pulselake.dfs.core.windows.net"] == (
            "SharedKey" if credential == "account key" else "SAS")
        uri = f"{root}/gold/demo/scores"
        spark.createDataFrame([("a", 1), ("b", 2)], "id STRING, score INT").write.format("delta").save(uri)
        assert sorted(map(tuple, spark.read.format("delta").load(uri).collect())) == [("a", 1), ("b", 2)]

        spark.createDataFrame([("c", 3)], "id STRING, score INT").write.format("delta").mode("overwrite").save(uri)
        assert [tuple(r) for r in spark.read.format("delta").load(uri).collect()] == [("c", 3)]
        version_0 = spark.read.format("delta").option("versionAsOf", 0).load(uri)
        assert sorted(map(tuple, version_0.collect())) == [("a", 1), ("b", 2)]
        assert [r.operation for r in DeltaTable.forPath(spark, uri).history().orderBy("version").collect()] == [
            "WRITE", "WRITE"]

        prefix = root.split("/", 3)[3]
        commits = azurite.blob_names(CONTAINERS[credential], f"{prefix}/gold/demo/scores/_delta_log/")
        assert {f"{prefix}/gold/demo/scores/_delta_log/{v:020d}.json" for v in (0, 1)} <= set(commits)
        # What the warehouse load does with gold: deltalake (no JVM) reads Spark's table through pulse_lake.
        table = delta_table(lake_path(uri), "scores")
        assert table.version() == 1 and table.to_pyarrow_table().to_pylist() == [{"id": "c", "score": 3}]


@pytest.fixture(scope="module")
def creator_api():
    from devstack.simulators.creator_api import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(seed=4, creators=10)) as base_url:
        yield http_connection(int(base_url.rsplit(":", 1)[1]))


def copy_bronze(root: str, local: Path) -> None:
    """Replace ``local``'s bronze with a copy of the Azure lake's, file by file."""
    shutil.rmtree(local / "bronze", ignore_errors=True)
    bronze = lake_path(root) / "bronze"
    for name in bronze.fs.find(bronze.path):
        target = local / "bronze" / name.removeprefix(bronze.path).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        bronze.fs.get_file(name, str(target))


def run_silver_and_gold(lake_root: str, run_date: date, *extra: str) -> None:
    """The creator pipeline's two Spark jobs, in this process, on the lake at ``lake_root``."""
    from spark_jobs.creator import gold, silver

    args = ["--lake-root", lake_root, "--run-date", run_date.isoformat(), "--source", "creator", *extra]
    silver.main([*args, "--run-id", f"test__{run_date}"])
    gold.main([*args, *CREATOR.gold_job_args])


def azure_gold_rows(spark, root: str) -> dict[str, list[tuple]]:
    """Every gold table of the Azure lake, sorted as ``gold_rows`` sorts a local lake's."""
    out = {}
    for table in CREATOR.gold_tables:
        frame = spark.read.format("delta").load(f"{root}/gold/creator/{table.name}")
        out[table.name] = sorted(frame.collect(), key=lambda r: tuple(str(v) for v in r))
    return out


def test_the_creator_pipeline_on_an_azure_lake_gives_the_gold_of_a_local_lake(
        spark, azurite, creator_api, tmp_path):
    """Two daily runs on Azurite (the first builds silver and gold, the second merges): the real ingest lands
    bronze in Azurite, silver and gold run on it through abfs://. Then the same jobs rebuild everything
    (``--full-refresh``) from a local copy of that bronze: every gold table is the same, row for row."""
    from pulse.inputs import RunWindow

    root, local = new_root("account key"), tmp_path / "lake"
    with lake_in_azurite(spark, root, lake_connection(azurite, "account key"),
                         connection_env({"creator_api": creator_api})):
        for run_date in RUN_DATES:
            window = RunWindow(run_date=run_date, start=run_date - timedelta(days=3), end=run_date)
            for source_input in CREATOR_API_ENDPOINTS:
                source_input.ingest("creator", window)
            run_silver_and_gold(root, run_date)
        copy_bronze(root, local)
        run_silver_and_gold(str(local), RUN_DATES[-1], "--full-refresh", "true")
        azure, expected = azure_gold_rows(spark, root), gold_rows(spark, local)
        assert all(expected[t.name] or t.allow_empty for t in CREATOR.gold_tables), \
            f"a gold table is empty on the local lake: {expected}"
        assert azure == expected
