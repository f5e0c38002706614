"""The read-only BI role ``pulse_bi`` on a real Postgres: it reads ``reporting`` and ``gold``, nothing else.

The warehouse is published by ``pulse.warehouse.publish_gold`` with the SQL a DAG run gives it
(``pulse.tasks.reporting_sql``: the views, then the grants), so these are the grants a publish leaves.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from pulse import tasks
from pulse.bi_access import BI_ROLE, grants_sql
from pulse.sources.creator import CREATOR
from pulse.sources.spotify import SPOTIFY
from tests.bi.conftest import connect
from tests.builders.gold_lakes import publish

pytestmark = pytest.mark.spark


def relations(conn, schema: str, kind: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = %s ORDER BY 1", (schema, kind))]


@pytest.fixture
def as_bi(bi_warehouse):
    conn = connect(bi_warehouse, user=BI_ROLE)
    yield conn
    conn.close()


def test_pulse_bi_reads_every_reporting_view_and_gold_table(bi_warehouse, as_bi):
    with connect(bi_warehouse) as admin:
        views, tables = relations(admin, "reporting", "v"), relations(admin, "gold", "r")
    assert {v.split("_")[0] for v in views} == {"creator", "spotify"}
    assert set(tables) == {t.name for s in (CREATOR, SPOTIFY) for t in s.gold_tables}
    for schema, names in (("reporting", views), ("gold", tables)):
        for name in names:
            as_bi.execute(f'SELECT * FROM {schema}."{name}" LIMIT 1').fetchall()


WRITES = [
    "INSERT INTO gold.dim_platforms (platform) VALUES ('Myspace')",
    "UPDATE gold.dim_creators SET revenue = 0",
    "DELETE FROM gold.fact_content",
    "TRUNCATE gold.dim_time",
    "CREATE TABLE gold.mine (x int)",
    "CREATE VIEW reporting.mine AS SELECT 1 AS x",
    "CREATE TABLE public.mine (x int)",
    "CREATE TEMP TABLE mine (x int)",
    "DROP VIEW reporting.creator_kpis",
    "ALTER TABLE gold.dim_platforms ADD COLUMN x int",
]


@pytest.mark.parametrize("statement", WRITES)
def test_pulse_bi_cannot_write_anything(as_bi, statement):
    with pytest.raises((errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction)):
        as_bi.execute(statement)


def test_pulse_bi_cannot_read_staging_pulse_meta_or_public_tables(bi_warehouse, as_bi):
    with connect(bi_warehouse) as admin:
        admin.execute("CREATE SCHEMA IF NOT EXISTS staging_creator")
        admin.execute("CREATE TABLE IF NOT EXISTS staging_creator.dim_platforms (platform text)")
        admin.execute("CREATE TABLE IF NOT EXISTS public.airflow_secrets (secret text)")
        assert admin.execute("SELECT count(*) FROM pulse_meta.publish_log").fetchone()[0] == 2
    for table in ("staging_creator.dim_platforms", "pulse_meta.publish_log", "public.airflow_secrets"):
        with pytest.raises(errors.InsufficientPrivilege):
            as_bi.execute(f"SELECT * FROM {table}")


def test_a_republish_recreates_the_tables_and_pulse_bi_can_still_read_them(postgres, gold_lakes):
    admin = psycopg.connect(host=postgres["host"], port=postgres["port"], user="postgres", dbname="postgres",
                            autocommit=True)
    admin.execute("DROP DATABASE IF EXISTS bi_republish WITH (FORCE)")
    admin.execute("CREATE DATABASE bi_republish")
    warehouse = {**postgres, "schema": "bi_republish"}
    try:
        with connect(warehouse) as conn:
            publish(conn, CREATOR, gold_lakes["creator"], run_id="first")
            before = conn.execute("SELECT 'gold.dim_creators'::regclass::oid").fetchone()[0]
            publish(conn, CREATOR, gold_lakes["creator"], run_id="second")
            assert conn.execute("SELECT 'gold.dim_creators'::regclass::oid").fetchone()[0] != before
            conn.execute(tasks.reporting_sql(CREATOR))  # what refresh_reporting re-applies: idempotent
        with connect(warehouse, user=BI_ROLE) as bi:
            assert bi.execute("SELECT count(*) FROM gold.dim_creators").fetchone()[0] > 0
            assert bi.execute("SELECT total_reach FROM reporting.creator_kpis").fetchone()[0] > 0
    finally:
        admin.execute("DROP DATABASE IF EXISTS bi_republish WITH (FORCE)")
        admin.close()


def test_a_warehouse_user_who_may_not_create_roles_still_publishes(pg_conn):
    """The grants are skipped with a notice, not an error, when the role is missing and cannot be made."""
    database = pg_conn.info.dbname
    pg_conn.execute("DROP ROLE IF EXISTS pulse_publisher_test")
    pg_conn.execute("CREATE ROLE pulse_publisher_test LOGIN NOCREATEROLE")
    pg_conn.execute(f"ALTER DATABASE {database} OWNER TO pulse_publisher_test")
    try:
        publisher = psycopg.connect(host=pg_conn.info.host, port=pg_conn.info.port, user="pulse_publisher_test",
                                    dbname=database, autocommit=True)
        notices = []
        publisher.add_notice_handler(lambda n: notices.append(n.message_primary))
        publisher.execute("CREATE SCHEMA gold")
        publisher.execute("CREATE SCHEMA reporting")
        publisher.execute("CREATE TABLE gold.dim_platforms (platform text)")
        publisher.execute(grants_sql(["dim_platforms"], "creator_", role="pulse_bi_never_created"))
        publisher.close()
        assert any("may not create roles" in n for n in notices), notices
        assert pg_conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'pulse_bi_never_created'"
                               ).fetchone()[0] == 0
    finally:
        pg_conn.execute(f"ALTER DATABASE {database} OWNER TO postgres")
        pg_conn.execute("DROP OWNED BY pulse_publisher_test")
        pg_conn.execute("DROP ROLE pulse_publisher_test")
