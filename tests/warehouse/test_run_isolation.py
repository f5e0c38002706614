"""Two runs of one source at once do not trample each other: each stages into its own schema, which its
gate checks and its publish reads; publishes take turns, and one never replaces gold with older lake
versions without being told to. On a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging

import psycopg
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from pulse.quality import failed_checks
from pulse.sources.base import GoldTable
from pulse.warehouse import (
    OlderThanPublished,
    PublishBlocked,
    drop_stale_stagings,
    publish_gold,
    stage_gold,
    staging_schema,
)
from tests.warehouse.sessions import in_thread, wait_until, waiting_on_a_lock

KEYS = {"things": ("thing_id",)}
GATE = [GoldTable("things", key=("thing_id",))]
DAY = dt.date(2026, 11, 1)


def write_things(root, ids: list[str]) -> None:
    write_deltalake(str(root / "things"), pa.table({"thing_id": ids}), mode="overwrite")


def schemas(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'staging%'")}


def test_a_runs_staging_schema_is_its_own_and_fits_postgresql():
    runs = ["scheduled__2026-11-01T00:00:00+00:00", "manual__2026-11-01T00:00:00+00:00", "x" * 300]
    names = [staging_schema("creator", run) for run in runs]
    assert len(set(names)) == 3 and all(n.startswith("staging_creator_") and len(n) <= 63 for n in names)
    assert staging_schema("creator", runs[0]) == names[0]  # the stage, the gate and the publish agree


def test_two_runs_stage_side_by_side_and_each_gate_checks_its_own_staging(pg_conn, tmp_path):
    clean, duplicated = tmp_path / "clean", tmp_path / "duplicated"
    write_things(clean, ["a", "b"])
    write_things(duplicated, ["a", "a"])
    first, second = staging_schema("demo", "run-1"), staging_schema("demo", "run-2")
    stage_gold(pg_conn, "demo", clean, list(KEYS), staging=first, run_id="run-1")
    stage_gold(pg_conn, "demo", duplicated, list(KEYS), staging=second, run_id="run-2")
    assert {first, second} <= schemas(pg_conn)
    assert failed_checks(pg_conn, first, GATE) == []
    assert failed_checks(pg_conn, second, GATE) == ["things.key_unique"]
    # The first run publishes its own staging; the second's stays where it was, for its own gate.
    publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "run-1", "run_date": DAY}, staging=first)
    assert first not in schemas(pg_conn) and second in schemas(pg_conn)
    assert pg_conn.execute("SELECT count(*) FROM gold.things").fetchone()[0] == 2
    assert pg_conn.execute("SELECT schema_name FROM pulse_meta.staging_runs").fetchall() == [(second,)]


def test_a_publish_from_older_lake_versions_than_the_published_ones_is_refused_and_changes_nothing(pg_conn, tmp_path):
    lake = tmp_path / "gold"
    write_things(lake, ["old"])
    older = staging_schema("demo", "run-older")
    stage_gold(pg_conn, "demo", lake, list(KEYS), staging=older, run_id="run-older")  # Delta version 0
    write_things(lake, ["new", "newer"])
    newer = staging_schema("demo", "run-newer")
    stage_gold(pg_conn, "demo", lake, list(KEYS), staging=newer, run_id="run-newer")  # Delta version 1
    publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "run-newer", "run_date": DAY}, staging=newer)
    with pytest.raises(OlderThanPublished, match=r"things: Delta version 0 staged, 1 published.*make rollback"):
        publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "run-older", "run_date": DAY - dt.timedelta(days=1)},
                     staging=older)
    assert pg_conn.execute("SELECT count(*) FROM gold.things").fetchone()[0] == 2
    assert older in schemas(pg_conn)
    assert [r[0] for r in pg_conn.execute("SELECT run_id FROM pulse_meta.publish_log")] == ["run-newer"]


def test_an_older_publish_goes_through_when_asked_and_says_so(pg_conn, tmp_path, caplog):
    lake = tmp_path / "gold"
    write_things(lake, ["old"])
    older = staging_schema("demo", "run-older")
    stage_gold(pg_conn, "demo", lake, list(KEYS), staging=older, run_id="run-older")
    write_things(lake, ["new", "newer"])
    stage_gold(pg_conn, "demo", lake, list(KEYS))
    publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "run-newer", "run_date": DAY})
    with caplog.at_level(logging.WARNING, logger="pulse.warehouse"):
        publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "run-older", "run_date": DAY}, staging=older,
                     allow_older=True)
    assert "is older than what the warehouse has" in caplog.text and "publishing it anyway" in caplog.text
    assert pg_conn.execute("SELECT thing_id FROM gold.things").fetchall() == [("old",)]


def test_a_killed_runs_staging_is_dropped_by_a_later_staging_and_the_log_says_so(pg_conn, tmp_path, caplog):
    lake = tmp_path / "gold"
    write_things(lake, ["a"])
    killed, running = staging_schema("demo", "killed"), staging_schema("demo", "running")
    stage_gold(pg_conn, "demo", lake, list(KEYS), staging=killed, run_id="killed")
    stage_gold(pg_conn, "demo", lake, list(KEYS), staging=running, run_id="running")
    pg_conn.execute("UPDATE pulse_meta.staging_runs SET staged_at = now() - interval '2 days' "
                    "WHERE schema_name = %s", (killed,))
    with caplog.at_level(logging.WARNING, logger="pulse.warehouse"):
        assert drop_stale_stagings(pg_conn, "demo", 24) == [killed]
    assert killed not in schemas(pg_conn) and running in schemas(pg_conn)
    assert f"dropped the staging schema {killed} of run killed of demo" in caplog.text
    assert drop_stale_stagings(pg_conn, "other", 0) == []  # another source's stagings are not its to drop
    assert running in schemas(pg_conn)


def test_publishes_of_one_source_take_turns_and_one_that_cannot_wait_names_the_other(pg_conn, postgres, tmp_path,
                                                                                      monkeypatch):
    def connect(**kwargs):
        return psycopg.connect(host=postgres["host"], port=postgres["port"], user="postgres",
                               dbname=pg_conn.info.dbname, **kwargs)

    lake = tmp_path / "gold"
    write_things(lake, ["a"])
    stage_gold(pg_conn, "demo", lake, list(KEYS))
    publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "first", "run_date": DAY})
    write_things(lake, ["a", "b"])
    first, second = staging_schema("demo", "run-1"), staging_schema("demo", "run-2")
    for run, schema in (("run-1", first), ("run-2", second)):
        stage_gold(pg_conn, "demo", lake, list(KEYS), staging=schema, run_id=run)
    reader = connect()
    reader.execute("SELECT count(*) FROM gold.things").fetchone()  # a BI query holding gold.things
    # Run 1's publish locks its source's row, then waits for gold.things.
    monkeypatch.setenv("PULSE_PUBLISH_LOCK_TIMEOUT_SECONDS", "600")
    monkeypatch.setenv("PULSE_PUBLISH_LOCK_ATTEMPTS", "1")
    one = connect()
    publishing, published = in_thread(
        lambda: publish_gold(one, "demo", KEYS, "", {"run_id": "run-1", "run_date": DAY}, staging=first))
    wait_until(lambda: waiting_on_a_lock(pg_conn, one.info.backend_pid) or not publishing.is_alive(),
               "run 1's publish waits")
    # Run 2's publish waits for run 1's turn, no longer than its lock timeout, and says who is in the way.
    monkeypatch.setenv("PULSE_PUBLISH_LOCK_TIMEOUT_SECONDS", "1")
    two = connect()
    with pytest.raises(PublishBlocked, match=rf"pid {one.info.backend_pid} \(role postgres, pulse publish demo"):
        publish_gold(two, "demo", KEYS, "", {"run_id": "run-2", "run_date": DAY}, staging=second)
    reader.commit()
    publishing.join(90)
    assert not publishing.is_alive() and "result" in published, published
    # Then run 2 publishes too (its lake versions are the same, not older), after run 1.
    publish_gold(two, "demo", KEYS, "", {"run_id": "run-2", "run_date": DAY}, staging=second)
    runs = [r[0] for r in pg_conn.execute("SELECT run_id FROM pulse_meta.publish_log ORDER BY publish_id")]
    assert runs == ["first", "run-1", "run-2"]
    for conn in (reader, one, two):
        conn.close()
