"""A small change to gold loads only what changed: the staging holds the changed keys and their rows, the
gate sees the table as the publish will leave it, and the publish deletes and inserts those rows in place
(the published table stays the same table, readers never wait); after it the warehouse equals the lake's
table row for row. Anything else is COPYed whole and swapped in.

The lake side is written with deltalake's own MERGE (the commits the Spark gold job makes are MERGEs with
the Change Data Feed on, as here); the reference is the Delta table read back whole."""

from __future__ import annotations

import datetime as dt
import logging

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from pulse.warehouse import GoldMovedSinceStaged, publish_gold, stage_gold

KEYS = {"fact_days": ("creator_id", "day")}
CDF = {"delta.enableChangeDataFeed": "true"}
DAY = dt.date(2026, 11, 1)


def rows(creators: int, days: int, score: int = 1) -> pa.Table:
    keys = [(f"c{c:03d}", DAY + dt.timedelta(days=d)) for c in range(creators) for d in range(days)]
    return pa.table({"creator_id": [k[0] for k in keys], "day": pa.array([k[1] for k in keys], pa.date32()),
                     "score": pa.array([score] * len(keys), pa.int64())})


def merge(table: str, changed: pa.Table) -> None:
    (DeltaTable(table).merge(changed, "t.creator_id = s.creator_id AND t.day = s.day", source_alias="s",
                             target_alias="t")
     .when_matched_update_all().when_not_matched_insert_all().execute())


def publish(conn, root) -> int:
    """Stage and publish ``root``'s gold; returns the rows the staging recorded as read from the lake."""
    stage_gold(conn, "slices", root, list(KEYS), keys=KEYS)
    lake_rows = conn.execute("SELECT sum(lake_rows) FROM staging_slices.lake_versions").fetchone()[0]
    publish_gold(conn, "slices", KEYS, "", {"run_id": "r", "run_date": DAY})
    return lake_rows


def warehouse_rows(conn, relation: str = "gold.fact_days") -> list[tuple]:
    return conn.execute(f"SELECT creator_id, day, score FROM {relation} ORDER BY 1, 2").fetchall()


def table_oid(conn) -> int:
    """The published table's identity: a swap puts another table in its place, an in-place load keeps it."""
    return conn.execute("SELECT 'gold.fact_days'::regclass::oid").fetchone()[0]


def lake_rows(table: str) -> list[tuple]:
    t = DeltaTable(table).to_pyarrow_table().sort_by([("creator_id", "ascending"), ("day", "ascending")])
    return list(zip(*(t.column(c).to_pylist() for c in ("creator_id", "day", "score")), strict=True))


@pytest.fixture
def lake(pg_conn, tmp_path):
    root = tmp_path / "gold"
    write_deltalake(str(root / "fact_days"), rows(40, 10), configuration=CDF)
    publish(pg_conn, root)
    return root


def test_a_small_merge_is_staged_as_a_slice_and_the_warehouse_equals_the_lake(pg_conn, lake, caplog):
    table = str(lake / "fact_days")
    changed = pa.concat_tables([rows(40, 1, score=7).slice(0, 5),  # five updates
                                pa.table({"creator_id": ["c999"], "day": pa.array([DAY], pa.date32()),
                                          "score": pa.array([3], pa.int64())})])  # one insert
    merge(table, changed)
    merge(table, changed.slice(0, 2).set_column(2, "score", pa.array([9, 9], pa.int64())))  # updated twice
    before = table_oid(pg_conn)
    with caplog.at_level(logging.INFO, logger="pulse.warehouse"):
        staged = stage_gold(pg_conn, "slices", lake, list(KEYS), keys=KEYS)
        # What the gate checks is the table as the publish will leave it; what was staged, the change alone.
        assert warehouse_rows(pg_conn, "staging_slices.fact_days") == lake_rows(table)
        assert staged["fact_days"] == len(lake_rows(table)) == 401  # the rows after it: 400 kept, 1 new
        assert pg_conn.execute("SELECT count(*) FROM staging_slices.fact_days__changed_rows").fetchone()[0] == 6
        assert pg_conn.execute("SELECT load, since_version, lake_rows FROM staging_slices.lake_versions").fetchall() \
            == [("slice", 0, 6)]
        publish_gold(pg_conn, "slices", KEYS, "", {"run_id": "r", "run_date": DAY})
    assert "as a slice load: 6 changed keys, 6 rows from the lake" in caplog.text
    assert "published gold.fact_days in place: 5 rows deleted, 6 inserted" in caplog.text  # c999 had none
    assert warehouse_rows(pg_conn) == lake_rows(table)
    assert len(warehouse_rows(pg_conn)) == 401
    assert table_oid(pg_conn) == before
    assert pg_conn.execute("SELECT to_regnamespace('staging_slices')").fetchone()[0] is None


def test_keys_a_merge_deleted_are_deleted_from_the_warehouse_in_place(pg_conn, lake, caplog):
    """The creator gold's MERGE deletes the rows of other sources that are gone (an export no longer there)."""
    table = str(lake / "fact_days")
    gone = rows(2, 1)  # c000 and c001 on the first day
    (DeltaTable(table).merge(gone, "t.creator_id = s.creator_id AND t.day = s.day", source_alias="s",
                             target_alias="t").when_matched_delete().execute())
    merge(table, rows(3, 1, score=5).slice(2, 1))  # and c002's row updated
    with caplog.at_level(logging.INFO, logger="pulse.warehouse"):
        assert publish(pg_conn, lake) == 1
    assert "published gold.fact_days in place: 3 rows deleted, 1 inserted" in caplog.text
    assert warehouse_rows(pg_conn) == lake_rows(table)
    assert len(warehouse_rows(pg_conn)) == 398


def test_an_unchanged_table_loads_nothing(pg_conn, lake, caplog):
    before = table_oid(pg_conn)
    with caplog.at_level(logging.INFO, logger="pulse.warehouse"):
        assert publish(pg_conn, lake) == 0
    assert "staged staging_slices.fact_days: unchanged since the last publish (Delta version 0): nothing to load, " \
           "400 rows stay" in caplog.text
    assert warehouse_rows(pg_conn) == lake_rows(str(lake / "fact_days"))
    assert table_oid(pg_conn) == before
    counts = pg_conn.execute("SELECT row_counts FROM pulse_meta.publish_log ORDER BY publish_id DESC LIMIT 1")
    assert counts.fetchone()[0] == {"fact_days": 400}


def test_a_slice_load_publishes_while_a_reader_holds_the_table_and_the_reader_sees_old_or_new_whole(
        pg_conn, lake, postgres, monkeypatch):
    """A swap needs the table to itself, so a reader in a transaction would hold it up (and, at one try of
    one second, fail it: test_publish_beside_readers.py); rows deleted and inserted in place need no such
    lock."""
    import psycopg

    monkeypatch.setenv("PULSE_PUBLISH_LOCK_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("PULSE_PUBLISH_LOCK_ATTEMPTS", "1")
    table = str(lake / "fact_days")
    old = lake_rows(table)
    merge(table, rows(40, 1, score=7).slice(0, 5))
    reader = psycopg.connect(host=postgres["host"], port=postgres["port"], user="postgres",
                             dbname=pg_conn.info.dbname)
    reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    assert warehouse_rows(reader) == old  # the reader holds gold.fact_days from here on
    publish(pg_conn, lake)
    assert warehouse_rows(pg_conn) == lake_rows(table) != old
    assert warehouse_rows(reader) == old  # its snapshot: all of the old gold
    reader.commit()
    assert warehouse_rows(reader) == lake_rows(table)  # then all of the new
    reader.close()


def test_slices_staged_before_another_publish_of_the_same_table_still_give_the_lakes_rows(pg_conn, lake):
    """Runs a and b stage the same change; b publishes first; a's slices (deletes and inserts of keys whose rows
    gold already has) still leave gold equal to the lake. (Had b staged a later version, a's publish would be
    refused as older: test_run_isolation.py.)"""
    table = str(lake / "fact_days")
    merge(table, rows(40, 1, score=7).slice(0, 5))
    stage_gold(pg_conn, "slices", lake, list(KEYS), keys=KEYS, staging="staging_run_a")
    stage_gold(pg_conn, "slices", lake, list(KEYS), keys=KEYS, staging="staging_run_b")
    publish_gold(pg_conn, "slices", KEYS, "", {"run_id": "b", "run_date": DAY}, staging="staging_run_b")
    publish_gold(pg_conn, "slices", KEYS, "", {"run_id": "a", "run_date": DAY}, staging="staging_run_a")
    assert warehouse_rows(pg_conn) == lake_rows(table)


def test_slices_staged_against_a_table_another_lake_replaced_since_are_refused(pg_conn, lake, tmp_path):
    """Between run a's staging and its publish, a publish from another lake (a new Delta table of the same
    name, at the same version) replaced gold.fact_days: a's slices are relative to a table gold no longer has."""
    merge(str(lake / "fact_days"), rows(40, 1, score=7).slice(0, 5))
    stage_gold(pg_conn, "slices", lake, list(KEYS), keys=KEYS, staging="staging_run_a")
    other = tmp_path / "other_gold"
    write_deltalake(str(other / "fact_days"), rows(40, 10, score=6), configuration=CDF)
    merge(str(other / "fact_days"), rows(1, 1, score=6))  # version 1, as run a's
    stage_gold(pg_conn, "slices", other, list(KEYS), keys=KEYS, staging="staging_other")
    publish_gold(pg_conn, "slices", KEYS, "", {"run_id": "o", "run_date": DAY}, staging="staging_other")
    published = warehouse_rows(pg_conn)
    with pytest.raises(GoldMovedSinceStaged, match=r"fact_days: staged against Delta version 0, gold now holds "
                                                   r"version 1 of another Delta table\). Nothing was changed"):
        publish_gold(pg_conn, "slices", KEYS, "", {"run_id": "a", "run_date": DAY}, staging="staging_run_a")
    assert warehouse_rows(pg_conn) == published == lake_rows(str(other / "fact_days"))


@pytest.mark.parametrize("change", ["large merge", "overwrite", "restore"])
def test_a_large_change_a_rewrite_or_a_restore_is_copied_whole(pg_conn, lake, caplog, change):
    table = str(lake / "fact_days")
    if change == "large merge":
        merge(table, rows(40, 3, score=5))  # 120 of 400 rows: over the slice share
    elif change == "overwrite":
        write_deltalake(table, rows(40, 10, score=2), mode="overwrite")
    else:
        merge(table, rows(1, 1, score=8))
        DeltaTable(table).restore(0)
    with caplog.at_level(logging.INFO, logger="pulse.warehouse"):
        assert publish(pg_conn, lake) == 400
    assert "as a slice load" not in caplog.text
    assert "staged staging_slices.fact_days: 400 rows from Delta version" in caplog.text
    assert warehouse_rows(pg_conn) == lake_rows(table)


def test_a_slice_load_commits_on_a_connection_that_is_not_in_autocommit_mode(pg_conn, lake, postgres):
    """Airflow's PostgresHook hands out such connections; the stage task closes it without a commit."""
    import psycopg

    merge(str(lake / "fact_days"), rows(1, 1, score=4))
    conn = psycopg.connect(host=postgres["host"], port=postgres["port"], user="postgres", dbname=pg_conn.info.dbname)
    assert not conn.autocommit
    stage_gold(conn, "slices", lake, list(KEYS), keys=KEYS)
    conn.close()
    assert pg_conn.execute("SELECT count(*) FROM staging_slices.fact_days").fetchone()[0] == 400
    assert pg_conn.execute("SELECT count(*) FROM staging_slices.fact_days__changed_rows").fetchone()[0] == 1


def test_another_lakes_table_of_the_same_name_and_version_is_copied_whole(pg_conn, lake, tmp_path, caplog):
    """A new lake (or one moved to other storage) publishing into the same warehouse: its tables are at
    the same versions as the published ones, but they are other tables, so nothing is taken from gold."""
    other = tmp_path / "other_gold"
    write_deltalake(str(other / "fact_days"), rows(40, 10, score=6), configuration=CDF)
    assert DeltaTable(str(other / "fact_days")).version() == DeltaTable(str(lake / "fact_days")).version()
    with caplog.at_level(logging.INFO, logger="pulse.warehouse"):
        publish(pg_conn, other)
    assert "staged staging_slices.fact_days: 400 rows from Delta version 0" in caplog.text
    assert warehouse_rows(pg_conn) == lake_rows(str(other / "fact_days"))
