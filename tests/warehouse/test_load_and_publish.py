"""Gold reaches PostgreSQL by COPY into staging, then an atomic swap into schema gold."""

import datetime as dt
import threading
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from pulse.warehouse import pg_type, publish_gold, stage_gold

UTC = dt.UTC


def write_gold(root: Path, table: str, data: dict, schema: pa.Schema | None = None, files: int = 1) -> None:
    """A gold Delta table, as the gold job leaves it; ``files`` data files in its one version."""
    from deltalake import write_deltalake

    t = pa.table(data, schema=schema)
    step = max(1, -(-t.num_rows // files))
    for i in range(files):
        write_deltalake(str(root / table), t.slice(i * step, step), mode="overwrite" if i == 0 else "append")


@pytest.fixture
def gold_v1(tmp_path):
    root = tmp_path / "gold_v1"
    write_gold(root, "dim_things", {"thing_id": ["a", "b", "c"], "label": ["Á", "", None]}, files=2)
    write_gold(root, "fact_events", {
        "thing_id": ["a", "a", "b"],
        "day": pa.array([dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 1)]),
        "score": pa.array([10, 20, 30], pa.int64()),
        "rate": [0.5, None, 0.25],
        "ok": [True, False, None],
        "at": pa.array([dt.datetime(2026, 1, 1, 12, 30, tzinfo=UTC)] * 3, pa.timestamp("us", tz="UTC")),
        "band": ["🔥 Viral Reach", "Moderate Reach", 'quote " and, comma'],
    })
    return root


KEYS = {"dim_things": ("thing_id",), "fact_events": ("thing_id", "day")}


def test_arrow_types_map_to_postgres_types():
    assert pg_type(pa.int64()) == "bigint"
    assert pg_type(pa.int32()) == "integer"
    assert pg_type(pa.float64()) == "double precision"
    assert pg_type(pa.string()) == "text"
    assert pg_type(pa.bool_()) == "boolean"
    assert pg_type(pa.date32()) == "date"
    assert pg_type(pa.timestamp("us", tz="UTC")) == "timestamptz"
    assert pg_type(pa.decimal128(12, 2)) == "numeric(12,2)"
    with pytest.raises(TypeError, match="flat"):
        pg_type(pa.list_(pa.int32()))


def test_staging_copies_every_row_with_nulls_empty_strings_and_unicode_intact(pg_conn, gold_v1):
    counts = stage_gold(pg_conn, "demo", gold_v1, ["dim_things", "fact_events"])
    assert counts == {"dim_things": 3, "fact_events": 3}
    rows = pg_conn.execute("SELECT thing_id, label FROM staging_demo.dim_things ORDER BY 1").fetchall()
    assert rows == [("a", "Á"), ("b", ""), ("c", None)]
    facts = pg_conn.execute("SELECT * FROM staging_demo.fact_events ORDER BY thing_id, day").fetchall()
    assert facts[0] == ("a", dt.date(2026, 1, 1), 10, 0.5, True, dt.datetime(2026, 1, 1, 12, 30, tzinfo=UTC),
                        "🔥 Viral Reach")
    assert facts[1][3] is None and facts[2][4] is None
    assert facts[2][6] == 'quote " and, comma'


def test_staging_does_not_touch_published_gold(pg_conn, gold_v1, tmp_path):
    stage_gold(pg_conn, "demo", gold_v1, list(KEYS))
    publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "r1", "run_date": dt.date(2026, 1, 2)})
    root2 = tmp_path / "gold_v2"
    write_gold(root2, "dim_things", {"thing_id": ["z"], "label": ["new"]})
    write_gold(root2, "fact_events", {"thing_id": ["z"], "day": pa.array([dt.date(2026, 1, 3)])})
    stage_gold(pg_conn, "demo", root2, list(KEYS))
    assert pg_conn.execute("SELECT count(*) FROM gold.dim_things").fetchone()[0] == 3


def test_publish_swaps_all_tables_and_recreates_reporting_views(pg_conn, gold_v1, tmp_path):
    views = ("CREATE OR REPLACE VIEW reporting.demo_totals AS "
             "SELECT thing_id, sum(score) AS total FROM gold.fact_events GROUP BY 1;")
    stage_gold(pg_conn, "demo", gold_v1, list(KEYS))
    publish_gold(pg_conn, "demo", KEYS, views, {"run_id": "r1", "run_date": dt.date(2026, 1, 2)})
    assert pg_conn.execute("SELECT total FROM reporting.demo_totals WHERE thing_id = 'a'").fetchone()[0] == 30
    root2 = tmp_path / "gold_v2"
    write_gold(root2, "dim_things", {"thing_id": ["z"], "label": ["new"]})
    write_gold(root2, "fact_events", {"thing_id": ["z"], "day": pa.array([dt.date(2026, 1, 3)]),
                                      "score": pa.array([7], pa.int64())})
    stage_gold(pg_conn, "demo", root2, list(KEYS))
    publish_gold(pg_conn, "demo", KEYS, views, {"run_id": "r2", "run_date": dt.date(2026, 1, 3)})
    assert pg_conn.execute("SELECT thing_id, total FROM reporting.demo_totals").fetchall() == [("z", 7)]
    assert pg_conn.execute("SELECT count(*) FROM gold.dim_things").fetchone()[0] == 1
    schemas = {r[0] for r in pg_conn.execute("SELECT schema_name FROM information_schema.schemata")}
    assert "staging_demo" not in schemas
    log = pg_conn.execute("SELECT run_id, row_counts FROM pulse_meta.publish_log ORDER BY published_at").fetchall()
    assert [r[0] for r in log] == ["r1", "r2"] and log[1][1] == {"dim_things": 1, "fact_events": 1}


def test_publish_adds_primary_keys_and_a_duplicate_key_keeps_the_old_gold(pg_conn, gold_v1, tmp_path):
    stage_gold(pg_conn, "demo", gold_v1, list(KEYS))
    publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "r1", "run_date": None})
    root2 = tmp_path / "dup"
    write_gold(root2, "dim_things", {"thing_id": ["x", "x"], "label": ["1", "2"]})
    write_gold(root2, "fact_events", {"thing_id": ["x"], "day": pa.array([dt.date(2026, 1, 3)])})
    stage_gold(pg_conn, "demo", root2, list(KEYS))
    with pytest.raises(psycopg.errors.UniqueViolation):
        publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "r2", "run_date": None})
    assert pg_conn.execute("SELECT count(*) FROM gold.dim_things").fetchone()[0] == 3
    assert pg_conn.execute("SELECT count(*) FROM gold.fact_events").fetchone()[0] == 3


def test_a_reader_sees_old_or_new_tables_never_a_mix_or_an_empty_table(pg_conn, gold_v1, tmp_path, postgres):
    stage_gold(pg_conn, "demo", gold_v1, list(KEYS))
    publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "r1", "run_date": None})
    root2 = tmp_path / "v2"
    write_gold(root2, "dim_things", {"thing_id": [f"n{i}" for i in range(5)], "label": ["v2"] * 5})
    write_gold(root2, "fact_events", {"thing_id": [f"n{i}" for i in range(5)],
                                      "day": pa.array([dt.date(2026, 2, 1)] * 5)})
    stage_gold(pg_conn, "demo", root2, list(KEYS))
    dbname = pg_conn.info.dbname
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def reader():
        with psycopg.connect(host=postgres["host"], port=postgres["port"], user="postgres", dbname=dbname) as c:
            while not stop.is_set():
                with c.transaction():
                    c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    seen.append((c.execute("SELECT count(*) FROM gold.dim_things").fetchone()[0],
                                 c.execute("SELECT count(*) FROM gold.fact_events").fetchone()[0]))

    thread = threading.Thread(target=reader)
    thread.start()
    publish_gold(pg_conn, "demo", KEYS, "", {"run_id": "r2", "run_date": None})
    stop.set()
    thread.join(timeout=10)
    seen.append(tuple(pg_conn.execute(
        "SELECT (SELECT count(*) FROM gold.dim_things), (SELECT count(*) FROM gold.fact_events)").fetchone()))
    assert set(seen) <= {(3, 3), (5, 5)}, f"a reader saw a mix or an empty table: {set(seen)}"
    assert seen[-1] == (5, 5)
