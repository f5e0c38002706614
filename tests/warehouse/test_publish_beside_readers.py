"""A long BI query cannot freeze a publish, nor the publish every reader: the publish waits for its locks a
bounded time, rolls back and tries again, and finally fails naming the session in its way.

Everything here is real: a second PostgreSQL login holds a transaction open on a gold table, as a BI tool
does, while the publish runs in another session. The tests wait on lock states (pg_stat_activity), with
generous bounds, never on a clock."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import uuid

import psycopg
import pyarrow as pa
import pytest

from pulse.warehouse import PublishBlocked, publish_gold, stage_gold
from tests.warehouse.sessions import BOUND, in_thread, wait_until, waiting_on_a_lock
from tests.warehouse.test_load_and_publish import KEYS, write_gold

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def warehouse(pg_conn, postgres, tmp_path):
    """gold published once (3 things), a second gold staged (5 things), and a BI login that may read gold."""
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    write_gold(v1, "dim_things", {"thing_id": ["a", "b", "c"], "label": ["1", "2", "3"]})
    write_gold(v1, "fact_events", {"thing_id": ["a", "b", "c"], "day": pa.array([dt.date(2026, 1, 1)] * 3)})
    stage_gold(pg_conn, "demo", v1, list(KEYS))
    publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "r1", "run_date": dt.date(2026, 1, 1)})
    write_gold(v2, "dim_things", {"thing_id": [f"n{i}" for i in range(5)], "label": ["v2"] * 5})
    write_gold(v2, "fact_events", {"thing_id": [f"n{i}" for i in range(5)], "day": pa.array([dt.date(2026, 1, 2)] * 5)})
    stage_gold(pg_conn, "demo", v2, list(KEYS))
    role = f"bi_{uuid.uuid4().hex[:8]}"
    pg_conn.execute(f"CREATE ROLE {role} LOGIN")
    pg_conn.execute(f"GRANT USAGE ON SCHEMA gold TO {role}")
    pg_conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA gold TO {role}")

    def connect(user: str = "postgres", **kwargs) -> psycopg.Connection:
        return psycopg.connect(host=postgres["host"], port=postgres["port"], user=user, dbname=pg_conn.info.dbname,
                               **kwargs)

    yield {"conn": pg_conn, "role": role, "connect": connect}
    pg_conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
    pg_conn.execute(f"DROP OWNED BY {role}")
    pg_conn.execute(f"DROP ROLE {role}")


def bi_reader_in_a_long_transaction(warehouse) -> psycopg.Connection:
    """A BI session that read gold.fact_events and keeps its transaction open (a long dashboard query)."""
    bi = warehouse["connect"](warehouse["role"])
    assert bi.execute("SELECT count(*) FROM gold.fact_events").fetchone()[0] == 3
    assert bi.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    return bi


def test_a_bi_reader_holding_a_table_makes_the_publish_fail_naming_it_and_no_new_reader_waits_on_the_publish(
        warehouse, monkeypatch):
    monkeypatch.setenv("PULSE_PUBLISH_LOCK_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("PULSE_PUBLISH_LOCK_ATTEMPTS", "3")
    conn, connect = warehouse["conn"], warehouse["connect"]
    bi = bi_reader_in_a_long_transaction(warehouse)
    bi_pid = bi.info.backend_pid
    publisher = connect()
    publishing, published = in_thread(lambda: publish_gold(publisher, "demo", KEYS, "", {"run_id": "r2"}))
    # The publish takes gold.dim_things, then waits for gold.fact_events, which the BI session holds.
    wait_until(lambda: waiting_on_a_lock(conn, publisher.info.backend_pid) or "error" in published,
               "the publish waits on a lock")
    # A new reader of gold.dim_things queues behind the publish: it gets its rows once the publish lets go,
    # while the BI session still holds its transaction (before, the publish held dim_things until the BI
    # session ended, and every such reader with it).
    reader = connect(autocommit=True)
    reading, read = in_thread(lambda: reader.execute("SELECT count(*) FROM gold.dim_things").fetchone()[0])
    reading.join(BOUND)
    assert not reading.is_alive(), "a new reader of gold.dim_things waited on the publish for good"
    assert read == {"result": 3}
    publishing.join(BOUND)
    assert not publishing.is_alive(), "the publish waited on the BI session for good"
    error = published.get("error")
    assert isinstance(error, PublishBlocked), published
    message = str(error)
    assert f"pid {bi_pid} (role {warehouse['role']}" in message
    assert "transaction since" in message and "query since" in message and "on any of 3 tries" in message
    # Nothing changed: the BI session is still in its transaction, gold is the old one, and the publish
    # holds no lock any more.
    assert bi.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    assert conn.execute("SELECT count(*) FROM gold.dim_things").fetchone()[0] == 3
    assert conn.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND relation IS NOT NULL",
                        (publisher.info.backend_pid,)).fetchone()[0] == 0
    # Once the BI session is gone, the same staged gold publishes.
    bi.close()
    publish_gold(publisher, "demo", KEYS, "", {"run_id": "r2"})
    assert conn.execute("SELECT count(*) FROM gold.dim_things").fetchone()[0] == 5
    publisher.close()
    reader.close()


def test_a_publish_held_up_by_a_reader_retries_and_completes_once_the_reader_is_done(warehouse, monkeypatch, caplog):
    monkeypatch.setenv("PULSE_PUBLISH_LOCK_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("PULSE_PUBLISH_LOCK_ATTEMPTS", "50")
    caplog.set_level("WARNING", logger="pulse.warehouse")
    bi = bi_reader_in_a_long_transaction(warehouse)
    publisher = warehouse["connect"]()
    publishing, published = in_thread(lambda: publish_gold(publisher, "demo", KEYS, "", {"run_id": "r2"}))
    wait_until(lambda: "was not free within 1s" in caplog.text or not publishing.is_alive(),
               "the publish rolls back and tries again")
    assert publishing.is_alive(), published
    bi.commit()  # the dashboard query ends; its session stays open, as a BI tool's does
    publishing.join(BOUND)
    assert not publishing.is_alive() and "result" in published, published
    assert warehouse["conn"].execute("SELECT count(*) FROM gold.fact_events").fetchone()[0] == 5
    bi.close()
    publisher.close()


HOLD_A_LOCK_AND_HANG = """
import sys
from pulse import tasks
conn = tasks.warehouse_connection(publishing=True)
conn.execute("LOCK TABLE gold.dim_things IN ACCESS EXCLUSIVE MODE")
print(conn.info.backend_pid, flush=True)
sys.stdin.read()  # a run that hangs (or whose worker was stopped) with its transaction open
"""


def test_a_publishing_session_left_idle_in_its_transaction_is_ended_by_the_server_and_its_locks_freed(
        warehouse, postgres):
    conn = warehouse["conn"]
    connection = {"conn_type": "postgres", "host": postgres["host"], "port": postgres["port"], "login": "postgres",
                  "schema": conn.info.dbname}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.join(REPO, "include"), REPO]),
           "AIRFLOW_CONN_PULSE_WAREHOUSE": json.dumps(connection), "PULSE_PUBLISH_IDLE_TIMEOUT_SECONDS": "1"}
    run = subprocess.Popen([sys.executable, "-c", HOLD_A_LOCK_AND_HANG], env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        pid = int(run.stdout.readline())
        wait_until(lambda: conn.execute("SELECT count(*) = 0 FROM pg_locks WHERE pid = %s AND relation = "
                                        "'gold.dim_things'::regclass", (pid,)).fetchone()[0],
                   "the server ends the idle publishing session")
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0] == 0
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()


WAIT_FOR_A_LOCK = """
from pulse import tasks
conn = tasks.warehouse_connection(publishing=True)
conn.execute("LOCK TABLE gold.dim_things IN ACCESS EXCLUSIVE MODE")
print(conn.info.backend_pid, flush=True)
conn.execute("LOCK TABLE gold.fact_events IN ACCESS EXCLUSIVE MODE")  # held by the BI session: waits
"""


def test_a_publishing_run_killed_while_it_waits_for_a_lock_leaves_no_lock_behind(warehouse, postgres):
    conn = warehouse["conn"]
    bi = bi_reader_in_a_long_transaction(warehouse)
    connection = {"conn_type": "postgres", "host": postgres["host"], "port": postgres["port"], "login": "postgres",
                  "schema": conn.info.dbname}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.join(REPO, "include"), REPO]),
           "AIRFLOW_CONN_PULSE_WAREHOUSE": json.dumps(connection)}
    run = subprocess.Popen([sys.executable, "-c", WAIT_FOR_A_LOCK], env=env, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(run.stdout.readline())
        wait_until(lambda: waiting_on_a_lock(conn, pid), "the run waits for gold.fact_events")
    finally:
        run.send_signal(signal.SIGKILL)  # kill -9 of the run, its transaction open and its lock wait pending
        run.wait()
    wait_until(lambda: conn.execute("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0],
               "the server ends the killed run's session")
    assert conn.execute("SELECT count(*) FROM gold.dim_things").fetchone()[0] == 3  # nobody holds it any more
    assert bi.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    bi.close()


def test_the_publishing_connection_carries_its_timeouts(warehouse, postgres, monkeypatch):
    from pulse import tasks

    conn = warehouse["conn"]
    monkeypatch.setenv("AIRFLOW_CONN_PULSE_WAREHOUSE", json.dumps({
        "conn_type": "postgres", "host": postgres["host"], "port": postgres["port"], "login": "postgres",
        "schema": conn.info.dbname}))
    monkeypatch.setenv("PULSE_WAREHOUSE_TCP_TIMEOUT_SECONDS", "30")
    publishing = tasks.warehouse_connection(publishing=True)
    try:
        assert publishing.execute("SHOW idle_in_transaction_session_timeout").fetchone()[0] == "1min"
        params = publishing.info.get_parameters()
        assert params["tcp_user_timeout"] == "30000" and params["keepalives"] == "1"
    finally:
        publishing.close()
