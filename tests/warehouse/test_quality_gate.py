"""The quality gate's checks catch what they claim to, on real staged tables, with the real operators."""

import json

import pytest
from airflow.providers.common.sql.operators.sql import SQLCheckOperator, SQLTableCheckOperator

from pulse.quality import failed_checks, orphan_rows_sql, table_checks
from pulse.sources.base import ForeignKey, GoldTable, RowScope

FACT = GoldTable("fact", key=("creator_id", "day"), not_null=("score",), bounds={"rate": (0, 1)},
                 references=(ForeignKey(("creator_id",), "dim"),))
DIM = GoldTable("dim", key=("creator_id",))


@pytest.fixture
def staged(pg_conn, monkeypatch):
    info = pg_conn.info
    monkeypatch.setenv("AIRFLOW_CONN_GATE_DB", json.dumps({
        "conn_type": "postgres", "host": info.host, "port": info.port, "login": "postgres", "schema": info.dbname}))
    pg_conn.execute("CREATE SCHEMA staging_t")
    pg_conn.execute("CREATE TABLE staging_t.dim (creator_id text)")
    pg_conn.execute("CREATE TABLE staging_t.fact (creator_id text, day date, score bigint, rate double precision)")
    pg_conn.execute("INSERT INTO staging_t.dim VALUES ('a'), ('b')")
    pg_conn.execute("INSERT INTO staging_t.fact VALUES ('a', '2026-01-01', 3, 0.5), ('b', '2026-01-01', 4, 1.0)")
    return pg_conn


def run_table_check(table: GoldTable):
    SQLTableCheckOperator(task_id="t", conn_id="gate_db", table=f"staging_t.{table.name}",
                          checks=table_checks(table)).execute({})


def run_fk_check(table: GoldTable):
    for fk in table.references:
        SQLCheckOperator(task_id="t", conn_id="gate_db", sql=orphan_rows_sql("staging_t", table, fk)).execute({})


def test_clean_tables_pass_every_check(staged):
    run_table_check(FACT)
    run_table_check(DIM)
    run_fk_check(FACT)


def test_an_empty_table_fails_the_gate(staged):
    staged.execute("DELETE FROM staging_t.fact")
    with pytest.raises(Exception, match="not_empty"):
        run_table_check(FACT)


def test_a_duplicate_key_fails_the_gate(staged):
    staged.execute("INSERT INTO staging_t.fact VALUES ('a', '2026-01-01', 1, 0.1)")
    with pytest.raises(Exception, match="key_unique"):
        run_table_check(FACT)


def test_a_rate_out_of_bounds_fails_the_gate(staged):
    staged.execute("UPDATE staging_t.fact SET rate = 1.5 WHERE creator_id = 'b'")
    with pytest.raises(Exception, match="rate_within_bounds"):
        run_table_check(FACT)


def test_a_null_where_none_belongs_fails_the_gate(staged):
    staged.execute("UPDATE staging_t.fact SET score = NULL WHERE creator_id = 'b'")
    with pytest.raises(Exception, match="score_not_null"):
        run_table_check(FACT)


def test_a_fact_row_without_its_dimension_row_fails_the_gate(staged):
    staged.execute("INSERT INTO staging_t.fact VALUES ('ghost', '2026-01-01', 1, 0.1)")
    with pytest.raises(Exception, match="every_fact_row_joins_dim"):
        run_fk_check(FACT)


# Checks on some rows only: a fact whose rows of one kind (here: scored) know more than the others.
SCORED = RowScope("scored", "score > 0")
SCOPED_FACT = GoldTable("fact", key=("creator_id", "day"), not_null_in=((SCORED, ("rate",)),),
                        references=(ForeignKey(("creator_id",), "dim", scope=SCORED),))


def test_a_scoped_check_holds_for_the_rows_in_its_scope_only(staged):
    staged.execute("INSERT INTO staging_t.fact VALUES ('ghost', '2026-01-02', 0, NULL)")  # out of scope
    run_table_check(SCOPED_FACT)
    run_fk_check(SCOPED_FACT)
    assert failed_checks(staged, "staging_t", [SCOPED_FACT, DIM]) == []
    # the same row in scope: its null rate and its missing dimension row fail the gate, both ways of checking
    staged.execute("UPDATE staging_t.fact SET score = 2 WHERE creator_id = 'ghost'")
    with pytest.raises(Exception, match="rate_not_null_in_scored"):
        run_table_check(SCOPED_FACT)
    with pytest.raises(Exception, match="every_fact_row_in_scored_joins_dim"):
        run_fk_check(SCOPED_FACT)
    assert failed_checks(staged, "staging_t", [SCOPED_FACT, DIM]) == ["fact.rate_not_null_in_scored",
                                                                      "fact.joins_dim"]
