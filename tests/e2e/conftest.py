"""Fixtures of the end-to-end tests: a migrated Airflow home and a warehouse database per test module."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

from pulse.sources.base import Source
from tests.e2e.airflow_runner import AirflowRunner


@dataclass(frozen=True)
class Warehouse:
    """One database of the test PostgreSQL, as the ``pulse_warehouse`` connection of the runs."""

    connection: dict

    def query(self, sql: str, params=()) -> list[tuple]:
        with psycopg.connect(host=self.connection["host"], port=self.connection["port"], user="postgres",
                             dbname=self.connection["schema"]) as conn:
            return conn.execute(sql, params).fetchall()

    def gold(self, source: Source) -> dict[str, list[tuple]]:
        """Every gold table of ``source`` as published, rows in a total order: two runs compare row for row."""
        snapshot = {}
        for table in source.gold_tables:
            columns = [r[0] for r in self.query(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'gold' "
                "AND table_name = %s ORDER BY ordinal_position", (table.name,))]
            order = ", ".join(f'"{c}"' for c in columns)
            snapshot[table.name] = self.query(f"SELECT * FROM gold.{table.name} ORDER BY {order}")
        return snapshot

    def assert_gold_equals(self, reference: dict[str, list[tuple]], source: Source, how: str) -> None:
        """Published gold equals ``reference`` row for row, table by table; ``how`` says what differs."""
        gold = self.gold(source)
        for table in source.gold_tables:
            assert gold[table.name] == reference[table.name], (
                f"gold.{table.name} {how} differs from the fault-free local[*] run: {len(gold[table.name])} "
                f"rows against {len(reference[table.name])}")


def assert_faults_fired_on_the_cluster(runner: AirflowRunner, done, log_name: str, cluster, source: Source) -> None:
    """The run succeeded, its 502s and 429s fired, and its Spark jobs ran on ``cluster``."""
    log_file = runner.home / f"{log_name}.log"
    assert done.returncode == 0, f"faulty run on the standalone cluster failed; log: {log_file}\n{done.stdout[-4000:]}"
    log = log_file.read_text()
    assert "answered 502" in log and "answered 429" in log, "the faults did not fire"
    assert f"--master {cluster.master_url}" in log, "the Spark jobs were not submitted to the cluster"
    ran = cluster.application_names()
    assert {f"pulse-{source.name}-silver", f"pulse-{source.name}-gold"} <= set(ran), f"the cluster ran {ran}"


@pytest.fixture(scope="module")
def faults_fired_on_the_cluster():
    """:func:`assert_faults_fired_on_the_cluster`, for the test modules."""
    return assert_faults_fired_on_the_cluster


@pytest.fixture(scope="module")
def runner(request, tmp_path_factory) -> AirflowRunner:
    """An Airflow home with a migrated metadata database, for this module's ``airflow dags test`` runs."""
    r = AirflowRunner(tmp_path_factory.mktemp(request.module.__name__.removeprefix("test_")))
    r.migrate()
    return r


@pytest.fixture(scope="module")
def warehouse(request, postgres) -> Warehouse:
    """A fresh database of the test PostgreSQL, named after the module."""
    name = "e2e_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    with psycopg.connect(host=postgres["host"], port=postgres["port"], user="postgres", dbname="postgres",
                         autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    return Warehouse({**postgres, "schema": name})
