"""A small change to gold loads only what changed: the staged table is the published one with the changed
slices replaced, and it equals the lake's table row for row; anything else is COPYed whole.

The lake side is written with deltalake's own MERGE (the commits the Spark gold job makes are MERGEs with
the Change Data Feed on, as here); the reference is the Delta table read back whole."""

from __future__ import annotations

import datetime as dt
import logging

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from pulse.warehouse import publish_gold, stage_gold

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


def warehouse_rows(conn) -> list[tuple]:
    return conn.execute("SELECT creator_id, day, score FROM gold.fact_days ORDER BY 1, 2").fetchall()


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
    with caplog.at_level(logging.INFO, logger="pulse.warehouse"):
        assert publish(pg_conn, lake) == 6
    assert "as a slice load: 6 changed keys, 6 rows from the lake" in caplog.text
    assert warehouse_rows(pg_conn) == lake_rows(table)
    assert len(warehouse_rows(pg_conn)) == 401


def test_an_unchanged_table_is_copied_inside_the_warehouse(pg_conn, lake, caplog):
    with caplog.at_level(logging.INFO, logger="pulse.warehouse"):
        assert publish(pg_conn, lake) == 0
    assert "staged staging_slices.fact_days: unchanged since the last publish (Delta version 0), 400 rows copied" \
        in caplog.text
    assert warehouse_rows(pg_conn) == lake_rows(str(lake / "fact_days"))


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
