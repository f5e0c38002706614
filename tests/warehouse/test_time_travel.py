"""Every publish records the Delta versions it loaded; a rollback restores the lake's and the warehouse's
gold to an earlier publish together, behind the same quality checks, and is itself undoable."""

import datetime as dt

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from pulse import time_travel
from pulse.sources.base import ForeignKey, GoldTable, Source
from pulse.time_travel import RollbackError, publishes, rollback
from pulse.warehouse import publish_gold, stage_gold

DEMO = Source(
    name="demo", dag_id="demo", title="Demo", inputs=(), silver_job="-", gold_job="-",
    gold_tables=(GoldTable("dim_things", key=("thing_id",)),
                 GoldTable("fact_events", key=("thing_id", "day"), bounds={"score": (0, None)},
                           references=(ForeignKey(("thing_id",), "dim_things"),))),
)
KEYS = {t.name: t.key for t in DEMO.gold_tables}
VIEWS = "CREATE OR REPLACE VIEW reporting.demo_total AS SELECT sum(score) AS total FROM gold.fact_events;"


def gold_run(root, things: list[str], scores: list[int]) -> None:
    """One gold job run: each table overwritten in one Delta commit."""
    write_deltalake(str(root / "dim_things"), pa.table({"thing_id": things}), mode="overwrite")
    write_deltalake(str(root / "fact_events"), pa.table({
        "thing_id": things, "day": pa.array([dt.date(2026, 1, 1)] * len(things)),
        "score": pa.array(scores, pa.int64())}), mode="overwrite")


def publish_run(conn, root, run_id: str) -> int:
    stage_gold(conn, "demo", root, list(KEYS))
    return publish_gold(conn, "demo", KEYS, VIEWS, {"run_id": run_id, "run_date": dt.date(2026, 1, 2)})


def warehouse_gold(conn) -> tuple:
    return (conn.execute("SELECT array_agg(thing_id ORDER BY thing_id) FROM gold.dim_things").fetchone()[0],
            conn.execute("SELECT total FROM reporting.demo_total").fetchone()[0])


def lake_gold(root) -> list:
    return sorted(DeltaTable(str(root / "fact_events")).to_pyarrow_table().column("thing_id").to_pylist())


@pytest.fixture
def three_publishes(pg_conn, tmp_path):
    root = tmp_path / "gold"
    ids = []
    for run, (things, scores) in enumerate([(["a"], [1]), (["a", "b"], [1, 2]), (["a", "b", "c"], [1, 2, 30])]):
        gold_run(root, things, scores)
        ids.append(publish_run(pg_conn, root, f"run{run}"))
    return root, ids


def test_each_publish_records_the_delta_version_of_every_table_it_loaded(pg_conn, three_publishes):
    root, ids = three_publishes
    log = publishes(pg_conn, "demo")
    assert [p.publish_id for p in log] == ids[::-1]
    assert [p.lake_versions for p in log] == [{"dim_things": v, "fact_events": v} for v in (2, 1, 0)]
    assert all(p.kind == "run" for p in log)
    # The recorded version holds exactly what that publish loaded (read back by time travel).
    assert DeltaTable(str(root / "fact_events"), version=1).to_pyarrow_table().num_rows == 2


def test_a_rollback_restores_the_lake_and_the_warehouse_to_the_previous_publish(pg_conn, three_publishes):
    root, ids = three_publishes
    assert warehouse_gold(pg_conn) == (["a", "b", "c"], 33)

    result = rollback(pg_conn, DEMO, root, VIEWS)

    assert result.target.publish_id == ids[1]
    assert warehouse_gold(pg_conn) == (["a", "b"], 3)
    assert lake_gold(root) == ["a", "b"]
    # A restore is a new version holding the old content: the bad one stays in the history.
    assert result.restored == {"dim_things": (1, 3), "fact_events": (1, 3)}
    history = time_travel.table_history(root, "fact_events")
    assert [(h["version"], h["operation"]) for h in history] == [(3, "RESTORE"), (2, "WRITE"), (1, "WRITE"),
                                                                 (0, "WRITE")]
    latest = publishes(pg_conn, "demo")[0]
    assert (latest.kind, latest.run_id, latest.lake_versions) == (
        "rollback", f"rollback to publish {ids[1]}", {"dim_things": 1, "fact_events": 1})


def test_a_rollback_commits_on_a_connection_that_is_not_in_autocommit_mode(pg_conn, three_publishes, postgres):
    # Airflow's PostgresHook hands out such connections: what the command uses.
    import psycopg

    root, ids = three_publishes
    conn = psycopg.connect(host=postgres["host"], port=postgres["port"], user="postgres", dbname=pg_conn.info.dbname)
    assert not conn.autocommit
    rollback(conn, DEMO, root, VIEWS)
    conn.close()  # as the command does: no commit of its own
    assert warehouse_gold(pg_conn) == (["a", "b"], 3)
    assert publishes(pg_conn, "demo")[0].kind == "rollback"


def test_a_rollback_can_be_undone_by_rolling_back_to_the_publish_it_replaced(pg_conn, three_publishes):
    root, ids = three_publishes
    rollback(pg_conn, DEMO, root, VIEWS, to_publish=ids[0])
    assert warehouse_gold(pg_conn) == (["a"], 1) and lake_gold(root) == ["a"]
    rollback(pg_conn, DEMO, root, VIEWS, to_publish=ids[2])
    assert warehouse_gold(pg_conn) == (["a", "b", "c"], 33) and lake_gold(root) == ["a", "b", "c"]


def test_a_rollback_to_gold_that_fails_the_gate_changes_nothing(pg_conn, tmp_path):
    root = tmp_path / "gold"
    gold_run(root, ["a"], [-5])  # a negative score: below the table's bound (published before the bound held)
    bad = publish_run(pg_conn, root, "run0")
    gold_run(root, ["a", "b"], [1, 2])
    publish_run(pg_conn, root, "run1")

    with pytest.raises(RollbackError, match=r"fails the quality gate now \(fact_events.score_within_bounds\)"):
        rollback(pg_conn, DEMO, root, VIEWS, to_publish=bad)

    assert warehouse_gold(pg_conn) == (["a", "b"], 3)
    assert lake_gold(root) == ["a", "b"] and DeltaTable(str(root / "fact_events")).version() == 1


def test_a_rollback_names_what_is_missing(pg_conn, tmp_path):
    root = tmp_path / "gold"
    gold_run(root, ["a"], [1])
    first = publish_run(pg_conn, root, "run0")
    with pytest.raises(RollbackError, match="1 publish"):
        rollback(pg_conn, DEMO, root, VIEWS)
    with pytest.raises(RollbackError, match="no publish 999 of demo"):
        rollback(pg_conn, DEMO, root, VIEWS, to_publish=999)
    # A publish logged before versions were recorded cannot be a target.
    pg_conn.execute("UPDATE pulse_meta.publish_log SET lake_versions = NULL WHERE publish_id = %s", (first,))
    gold_run(root, ["a", "b"], [1, 2])
    publish_run(pg_conn, root, "run1")
    with pytest.raises(RollbackError, match="predates version tracking"):
        rollback(pg_conn, DEMO, root, VIEWS)
