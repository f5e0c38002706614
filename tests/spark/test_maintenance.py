"""The weekly maintenance job (spark_jobs.common.maintenance) on real Delta tables, with real Spark:
it finds every Delta table of a source, compacts small files without changing a row or losing a
version, and never vacuums with a retention under 7 days."""

from __future__ import annotations

import json

import pytest

from spark_jobs.common import maintenance

pytestmark = pytest.mark.spark


def write(spark, uri: str, rows: range, mode: str = "append") -> None:
    spark.range(rows.start, rows.stop).toDF("n").repartition(1).write.format("delta").mode(mode).save(uri)


@pytest.fixture
def lake(spark, tmp_path):
    root = f"file://{tmp_path}"
    for i in range(6):  # six small commits: six files in the current version
        write(spark, f"{root}/gold/demo/fact_things", range(i * 10, i * 10 + 10))
    write(spark, f"{root}/silver/demo/things", range(5))
    write(spark, f"{root}/silver/demo/_quarantine/things", range(2))
    spark.range(3).write.parquet(f"{root}/bronze/demo/plain_parquet/run_date=2026-11-20")  # not Delta
    write(spark, f"{root}/gold/other/not_this_source", range(1))
    return root


def test_every_delta_table_of_the_source_is_found_and_nothing_else(spark, lake):
    found = [t for zone in maintenance.ZONES
             for t in maintenance.delta_tables(spark, f"{lake}/{zone}/demo")]
    assert found == [f"{lake}/silver/demo/_quarantine/things", f"{lake}/silver/demo/things",
                     f"{lake}/gold/demo/fact_things"]


def test_compaction_leaves_one_file_the_same_rows_and_every_earlier_version_readable(spark, lake):
    table = f"{lake}/gold/demo/fact_things"
    done = maintenance.maintain(spark, table, retention_hours=168)

    assert (done["files_before"], done["files_after"], done["files_compacted"]) == (6, 1, 6)
    assert sorted(r.n for r in spark.read.format("delta").load(table).collect()) == list(range(60))
    # Time travel still reaches the versions before the compaction: VACUUM kept their files (a week).
    v2 = spark.read.format("delta").option("versionAsOf", 2).load(table)
    assert sorted(r.n for r in v2.collect()) == list(range(30))
    assert done["files_vacuumed"] == 0
    operations = [r.operation for r in spark.sql(f"DESCRIBE HISTORY delta.`{table}`").collect()]
    assert "OPTIMIZE" in operations


def test_a_retention_under_seven_days_is_refused_before_anything_runs(spark, lake):
    table = f"{lake}/gold/demo/fact_things"
    with pytest.raises(ValueError, match="under 168 .*7 days"):
        maintenance.maintain(spark, table, retention_hours=24)
    assert spark.sql(f"DESCRIBE DETAIL delta.`{table}`").first()["numFiles"] == 6


def test_main_maintains_every_table_of_the_source_and_prints_a_line_for_each(spark, lake, capsys):
    """The job as spark-submit starts it (``main`` with the arguments the ``pulse_maintenance`` DAG gives,
    checked in tests/dags), in this session: a JSON line per table, then the total."""
    maintenance.main(["--lake-root", lake, "--run-date", "2026-11-20", "--source", "demo", "--retention-hours", "168"])
    lines = capsys.readouterr().out.splitlines()
    reports = [json.loads(line) for line in lines if line.startswith("{")]
    assert [r["table"] for r in reports] == [f"{lake}/silver/demo/_quarantine/things", f"{lake}/silver/demo/things",
                                             f"{lake}/gold/demo/fact_things"]
    assert {r["retention_hours"] for r in reports} == {168}
    assert (reports[2]["files_before"], reports[2]["files_after"]) == (6, 1)
    assert lines[-1] == "maintained 3 Delta tables of demo (retention 168 hours)"
    for table in (r["table"] for r in reports):
        assert "VACUUM END" in [r.operation for r in spark.sql(f"DESCRIBE HISTORY delta.`{table}` LIMIT 3").collect()]
