"""Per-listener BI logins (``python -m pulse.bi_access add-user <login> --listener <name>``) on a real
Postgres, over a small hand-made gold granted as a publish grants it: row-level security lets each login
read its listener's rows only, in gold and through the reporting views. ``test_listener_isolation.py``
counts the listeners each login sees in every table and view of a real published Spotify gold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from psycopg import errors

from devstack.stack import connection_env
from pulse import bi_access
from pulse.bi_access import BI_ROLE, add_listener_login, grants_sql
from tests.bi.conftest import hand_made_gold, login

GRANTS = grants_sql(["fact_plays", "dim_day"], "spotify_")
LOGINS = ("ida_reader", "sam_and_rae_reader")


@pytest.fixture
def warehouse(pg_conn):
    """Gold with three listeners, a reporting view over it and the BI grants; yields the admin connection."""
    hand_made_gold(pg_conn, {"ida": 3, "sam": 4, "rae": 5}, GRANTS)
    yield pg_conn
    for login_name in LOGINS:
        if role_exists(pg_conn, login_name):
            pg_conn.execute(f"DROP OWNED BY {login_name}")
            pg_conn.execute(f"DROP ROLE {login_name}")


def role_exists(conn, name: str) -> bool:
    return conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (name,)).fetchone()[0] == 1


def listeners(conn, relation: str) -> list[str]:
    return [r[0] for r in conn.execute(f"SELECT DISTINCT listener FROM {relation} ORDER BY 1")]


def test_a_listener_login_reads_only_its_listener_in_gold_and_reporting(warehouse):
    assert add_listener_login(warehouse, "ida_reader", ["ida"]) == 0  # no fact_track_breakdown here
    assert add_listener_login(warehouse, "sam_and_rae_reader", ["sam", "rae"]) == 0
    with login(warehouse, "ida_reader") as ida, login(warehouse, "sam_and_rae_reader") as pair, \
            login(warehouse, BI_ROLE) as analyst:
        for relation in ("gold.fact_plays", "reporting.spotify_plays"):
            assert listeners(ida, relation) == ["ida"]
            assert listeners(pair, relation) == ["rae", "sam"]
            assert listeners(analyst, relation) == ["ida", "rae", "sam"]
        assert ida.execute("SELECT count(*) FROM gold.dim_day").fetchone()[0] == 1  # no listener column


def test_a_new_publish_keeps_the_logins_isolated(warehouse):
    add_listener_login(warehouse, "ida_reader", ["ida"])
    with warehouse.transaction():  # what a publish does: new tables, then the grants
        warehouse.execute("DROP TABLE gold.fact_plays CASCADE")
        warehouse.execute("CREATE TABLE gold.fact_plays AS "
                          "SELECT * FROM (VALUES ('ida', 6), ('sam', 7)) AS t(listener, plays)")
        warehouse.execute("CREATE VIEW reporting.spotify_plays WITH (security_invoker = true) AS "
                          "SELECT listener, sum(plays) AS plays FROM gold.fact_plays GROUP BY listener")
        warehouse.execute(GRANTS)
    with login(warehouse, "ida_reader") as ida:
        assert ida.execute("SELECT listener, plays FROM reporting.spotify_plays").fetchall() == [("ida", 6)]


def test_remapping_a_login_takes_effect_at_once(warehouse):
    add_listener_login(warehouse, "ida_reader", ["ida"])
    add_listener_login(warehouse, "ida_reader", ["rae"])
    with login(warehouse, "ida_reader") as reader:
        assert listeners(reader, "gold.fact_plays") == ["rae"]


def test_a_listener_login_cannot_read_the_mapping_or_write(warehouse):
    add_listener_login(warehouse, "ida_reader", ["ida"])
    with login(warehouse, "ida_reader") as ida:
        for statement in ("SELECT * FROM pulse_meta.bi_listener_logins",
                          "SELECT * FROM pulse_meta.bi_login_listeners('sam_and_rae_reader')",
                          "CREATE TEMP TABLE mine (x int)",
                          "UPDATE gold.fact_plays SET listener = 'ida'"):
            with pytest.raises((errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction)):
                ida.execute(statement)
        assert ida.execute("SHOW statement_timeout").fetchone()[0] == bi_access.BI_SESSION_DEFAULTS[
            "statement_timeout"]


def test_a_view_that_reads_with_its_owners_rights_is_refused_to_the_listener_logins(warehouse):
    warehouse.execute("CREATE VIEW reporting.spotify_leaky AS SELECT * FROM gold.fact_plays")
    with pytest.raises(errors.RaiseException, match="reporting.spotify_leaky .*security_invoker"):
        warehouse.execute(GRANTS)


def test_a_role_granted_select_by_hand_sees_no_listener_row(warehouse):
    warehouse.execute("DROP ROLE IF EXISTS pulse_other_reader")
    warehouse.execute("CREATE ROLE pulse_other_reader LOGIN")
    try:
        warehouse.execute("GRANT USAGE ON SCHEMA gold TO pulse_other_reader")
        warehouse.execute("GRANT SELECT ON gold.fact_plays TO pulse_other_reader")
        with login(warehouse, "pulse_other_reader") as other:
            assert other.execute("SELECT count(*) FROM gold.fact_plays").fetchone()[0] == 0
    finally:
        warehouse.execute("DROP OWNED BY pulse_other_reader")
        warehouse.execute("DROP ROLE pulse_other_reader")


def test_add_user_refuses_a_role_that_is_not_a_listener_login(warehouse):
    with pytest.raises(ValueError, match="exists and is not a per-listener BI login"):
        add_listener_login(warehouse, BI_ROLE, ["ida"])


def test_python_m_pulse_bi_access_add_user_creates_the_login_from_the_pulse_warehouse_connection(
        postgres, warehouse, tmp_path):
    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__"))}
    env.update(connection_env({"pulse_warehouse": {**postgres, "schema": warehouse.info.dbname}}))
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), PULSE_HOME=str(tmp_path / "home"),
               PYTHONPATH=os.pathsep.join([str(repo / "include"), str(repo)]))
    done = subprocess.run([sys.executable, "-m", "pulse.bi_access", "add-user", "ida_reader", "--listener", "ida"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ida_reader reads only ida" in done.stdout
    with login(warehouse, "ida_reader") as ida:
        assert listeners(ida, "reporting.spotify_plays") == ["ida"]


def test_add_user_with_an_account_says_creator_accounts_come_with_issue_11(capsys):
    assert bi_access.main(["add-user", "creator_reader", "--account", "acme"]) == 2
    assert "creator accounts come with issue 11" in capsys.readouterr().err
