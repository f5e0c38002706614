"""What a ``pulse_bi`` login cannot do on a real Postgres, even when it tries: create temporary objects
(with its read-only default turned off), hold up a publish's grants with a lock, or keep a statement or an
idle transaction open without end. And it still reads gold and reporting.

The warehouse here is a small hand-made gold and reporting view, granted with the SQL a publish runs
(:func:`pulse.bi_access.grants_sql`); ``tests/bi/test_bi_role.py`` checks the grants a real publish leaves.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from pulse.bi_access import BI_ROLE, grants_sql
from tests.bi.conftest import hand_made_gold
from tests.bi.conftest import login as login_as

GRANTS = grants_sql(["fact_plays", "dim_day"], "spotify_")


@pytest.fixture
def warehouse(pg_conn):
    """A database with gold, a reporting view and the BI grants; yields its admin connection."""
    hand_made_gold(pg_conn, {"ida": 3, "sam": 4}, GRANTS)
    return pg_conn


def login(admin, user: str = BI_ROLE, **kwargs) -> psycopg.Connection:
    return login_as(admin, user, **kwargs)


@pytest.mark.parametrize("statement", [
    "CREATE TEMP TABLE mine (x int)",
    "CREATE FUNCTION pg_temp.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
])
def test_pulse_bi_cannot_create_temporary_objects_even_with_its_read_only_default_turned_off(warehouse, statement):
    with login(warehouse) as bi:
        bi.execute("SET default_transaction_read_only = off")
        with pytest.raises(errors.InsufficientPrivilege):
            bi.execute(statement)


def test_the_publishing_role_keeps_its_temporary_tables(warehouse):
    """The database's owner, who publishes here, is not a superuser and still creates temporary tables."""
    database = warehouse.info.dbname
    warehouse.execute("DROP ROLE IF EXISTS pulse_owner_test")
    warehouse.execute("CREATE ROLE pulse_owner_test LOGIN")
    warehouse.execute(f"ALTER DATABASE {database} OWNER TO pulse_owner_test")
    try:
        with login(warehouse, "pulse_owner_test") as owner, owner.transaction():
            owner.execute("CREATE TEMP TABLE scratch (x int) ON COMMIT DROP")
    finally:
        warehouse.execute(f"ALTER DATABASE {database} OWNER TO postgres")
        warehouse.execute("DROP ROLE pulse_owner_test")


def test_a_pulse_bi_session_holding_any_advisory_lock_does_not_hold_up_the_grants(warehouse):
    with login(warehouse) as bi:
        # The key the grants once took, and that every role may take.
        bi.execute("SELECT pg_advisory_lock(hashtext('pulse_bi grants'))")
        # The bound is a failure message instead of a hung test, not a speed target: waiting on a lock
        # pulse_bi holds ends in LockNotAvailable.
        warehouse.execute("SET lock_timeout = '30s'")
        with warehouse.transaction():
            warehouse.execute(GRANTS)


def test_pulse_bi_cannot_take_the_lock_the_grants_take(warehouse):
    with login(warehouse) as bi, pytest.raises(errors.InsufficientPrivilege), bi.transaction():
        bi.execute("LOCK TABLE pulse_meta.bi_listener_logins IN ACCESS SHARE MODE")


def test_bi_sessions_start_read_only_with_a_statement_and_an_idle_transaction_timeout(warehouse):
    with login(warehouse) as bi:
        settings = {name: bi.execute(f"SHOW {name}").fetchone()[0] for name in (
            "default_transaction_read_only", "statement_timeout", "idle_in_transaction_session_timeout")}
    assert settings == {"default_transaction_read_only": "on", "statement_timeout": "10min",
                        "idle_in_transaction_session_timeout": "1min"}


def test_an_administrators_own_timeout_for_pulse_bi_is_kept_by_the_next_publish(warehouse):
    warehouse.execute(f"ALTER ROLE {BI_ROLE} SET statement_timeout = '45min'")
    try:
        warehouse.execute(GRANTS)
        with login(warehouse) as bi:
            assert bi.execute("SHOW statement_timeout").fetchone()[0] == "45min"
    finally:
        warehouse.execute(f"ALTER ROLE {BI_ROLE} RESET statement_timeout")
        warehouse.execute(GRANTS)


def test_pulse_bi_still_reads_every_listener_in_gold_and_reporting(warehouse):
    with login(warehouse) as bi:
        assert bi.execute("SELECT listener, plays FROM gold.fact_plays ORDER BY 1").fetchall() == [
            ("ida", 3), ("sam", 4)]
        assert bi.execute("SELECT listener, plays FROM reporting.spotify_plays ORDER BY 1").fetchall() == [
            ("ida", 3), ("sam", 4)]
        assert bi.execute("SELECT count(*) FROM gold.dim_day").fetchone()[0] == 1
