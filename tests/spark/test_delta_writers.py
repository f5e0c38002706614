"""Delta's guarantees under the failures a scheduler meets, with real ``spark-submit`` processes of the
creator gold job on one lake:

- two runs at once: each either completes or fails with Delta's concurrency error (never a torn table),
  and gold equals what one run alone writes;
- ``kill -9`` of a run in the middle of its writes: every table stays at a committed version, with the
  rows of a whole run, and the next run completes with the same gold;
- ``kill -9`` of an incremental run in the middle of its MERGE of the changed slices into a fact: the same,
  and the next run's gold equals a rebuild's over the same silver.

The reference is the gold job run in this process on a lake of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

from pulse.config import REPO_ROOT, spark_conf, spark_jars
from pulse.sources.creator import CREATOR
from spark_jobs.creator.gold_channels import CHANNEL_TABLES
from tests.builders.creator import gold_rows, run_gold, write_tiny_silver
from tests.processes import start
from tests.spark_tuning import SHORT_JOB

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]

CONCURRENCY_ERRORS = ("ConcurrentAppendException", "ConcurrentDeleteReadException", "ConcurrentDeleteDeleteException",
                      "MetadataChangedException", "ProtocolChangedException", "ConcurrentTransactionException")


@pytest.fixture(scope="module")
def jobs_zip(tmp_path_factory) -> Path:
    """``spark_jobs`` zipped for ``--py-files``, as ``package_spark_jobs`` does."""
    target = tmp_path_factory.mktemp("dist") / "spark_jobs"
    shutil.make_archive(str(target), "zip", root_dir=REPO_ROOT, base_dir="spark_jobs")
    return target.with_suffix(".zip")


@pytest.fixture(scope="module")
def reference(spark, tmp_path_factory) -> dict:
    lake = tmp_path_factory.mktemp("reference")
    write_tiny_silver(spark, lake)
    run_gold(lake)
    return gold_rows(spark, lake)


@pytest.fixture
def lake(spark, tmp_path) -> Path:
    """A lake with silver and one committed gold run (version 0 of every gold table)."""
    write_tiny_silver(spark, tmp_path)
    run_gold(tmp_path)
    return tmp_path


def submit_gold(lake: Path, jobs_zip: Path, log: Path, full_refresh: bool = True):
    """A gold run; by default rebuilding every table (``--full-refresh``: each table is written)."""
    conf = {**spark_conf(SHORT_JOB), "spark.sql.shuffle.partitions": "2",
            "spark.databricks.delta.snapshotPartitions": "2",
            "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2", "spark.ui.enabled": "false"}
    args = [str(Path(sys.executable).parent / "spark-submit"), "--master", "local[1]", "--driver-memory", "768m",
            "--jars", ",".join(spark_jars()), "--py-files", str(jobs_zip),
            *(part for key, value in conf.items() for part in ("--conf", f"{key}={value}")),
            str(REPO_ROOT / "spark_jobs" / "creator" / "gold.py"), "--lake-root", f"file://{lake}",
            "--run-date", "2026-11-20", "--source", "creator", "--full-refresh", str(full_refresh).lower(),
            *CREATOR.gold_job_args]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    return start(args, log, env=env)


def versions(lake: Path) -> dict[str, int]:
    return {t.name: DeltaTable(str(lake / "gold" / "creator" / t.name)).version() for t in CREATOR.gold_tables}


def data_files(lake: Path) -> dict[Path, set[str]]:
    return {folder: {p.name for p in folder.glob("*.parquet")}
            for folder in (lake / "gold" / "creator" / t.name for t in CREATOR.gold_tables)}


def uncommitted_files(lake: Path, known: dict[Path, set[str]], tables: tuple[str, ...] | None = None) -> list[str]:
    """Data files in a gold table's folder that its current version does not list (a write in flight);
    only folders with files not in ``known`` are checked against their Delta log, and the files a commit
    listed join ``known``: a poll every few milliseconds reads a table's log once per commit, not each time."""
    found = []
    for folder, names in data_files(lake).items():
        if tables is not None and folder.name not in tables:
            continue
        if new := names - known[folder]:
            listed = {Path(f).name for f in DeltaTable(str(folder)).file_uris()}
            known[folder] |= new & listed
            found += sorted(new - listed)
    return found


def test_two_runs_at_once_each_complete_or_fail_with_a_concurrency_error_and_gold_equals_one_run(
        spark, lake, jobs_zip, reference, tmp_path):
    runs = [submit_gold(lake, jobs_zip, tmp_path / f"run{i}.log") for i in (1, 2)]
    try:
        codes = [run.process.wait(timeout=600) for run in runs]
    finally:
        for run in runs:
            run.stop(grace=5)
    logs = [(tmp_path / f"run{i}.log").read_text() for i in (1, 2)]
    for code, log in zip(codes, logs, strict=True):
        assert code == 0 or any(e in log for e in CONCURRENCY_ERRORS), log[-3000:]
    assert 0 in codes, "neither run completed"
    assert gold_rows(spark, lake) == reference
    for table, version in versions(lake).items():  # every commit of every table is a whole run's
        for v in range(version + 1):
            rows = DeltaTable(str(lake / "gold" / "creator" / table), version=v).to_pyarrow_table().num_rows
            assert rows == len(reference[table]), (table, v, rows)


def test_a_run_killed_in_the_middle_of_its_writes_leaves_every_table_at_a_committed_version(
        spark, lake, jobs_zip, reference, tmp_path):
    before, known = versions(lake), data_files(lake)
    run = submit_gold(lake, jobs_zip, tmp_path / "killed.log")
    try:
        deadline = time.monotonic() + 600
        while not uncommitted_files(lake, known):  # wait for a state: a data file written, not yet committed
            assert run.running(), f"the run ended before it was caught mid-write:\n{run.log_tail()}"
            assert time.monotonic() < deadline, "no write in flight within 10 minutes"
            time.sleep(0.002)
        os.killpg(run.process.pid, signal.SIGKILL)  # kill -9 of spark-submit and the driver it started
        run.process.wait(timeout=60)
    finally:
        run.stop(grace=1)

    after = versions(lake)
    assert all(after[t] in (before[t], before[t] + 1) for t in after), (before, after)
    # The channel tables are left as they are when their silver did not change (none here): not evidence.
    assert any(after[t] == before[t] for t in after if t not in CHANNEL_TABLES), \
        "every table committed: the kill came too late"
    assert gold_rows(spark, lake) == reference  # each table at a whole run's rows, the torn write invisible

    run_gold(lake)  # the next run completes
    assert gold_rows(spark, lake) == reference


def test_a_run_killed_in_the_middle_of_its_gold_merge_leaves_committed_versions_and_the_next_run_rebuilds(
        spark, lake, jobs_zip, tmp_path):
    """An incremental gold run (silver changed since the last gold run: its MERGE of the changed slices into the
    facts) killed while a fact table's MERGE has written files it has not committed."""
    engagement = lake / "silver" / "creator" / "engagement"
    last_date = spark.read.format("delta").load(str(engagement)).agg({"date": "max"}).first()[0]
    # a MERGE, as silver's daily run writes (another operation would make the next gold run a rebuild)
    spark.sql(f"MERGE INTO delta.`{engagement}` AS t USING (SELECT * FROM delta.`{engagement}` "
              f"WHERE date = DATE'{last_date}') AS s ON t.creator_id = s.creator_id AND t.platform = s.platform "
              f"AND t.date = s.date "
              f"WHEN MATCHED THEN UPDATE SET t.total_likes = t.total_likes + 7")
    reference = tmp_path / "reference"  # a first gold run over a copy of the changed silver: a rebuild
    shutil.copytree(lake / "silver", reference / "silver")
    run_gold(reference)
    expected = gold_rows(spark, reference)
    assert expected != gold_rows(spark, lake), "the silver change changes no gold: nothing to merge"

    facts = ("fact_content", "fact_engagement")
    before, known = versions(lake), data_files(lake)
    run = submit_gold(lake, jobs_zip, tmp_path / "killed.log", full_refresh=False)
    try:
        deadline = time.monotonic() + 600
        while not uncommitted_files(lake, known, facts):  # a MERGE has written a fact's files, not committed
            assert run.running(), f"the run ended before it was caught mid-merge:\n{run.log_tail()}"
            assert time.monotonic() < deadline, "no merge in flight within 10 minutes"
            time.sleep(0.002)
        os.killpg(run.process.pid, signal.SIGKILL)
        run.process.wait(timeout=60)
    finally:
        run.stop(grace=1)
    assert "gold: incremental: silver versions" in run.log_tail(200_000), "the run was not an incremental one"

    after = versions(lake)
    assert all(after[t] in (before[t], before[t] + 1) for t in after), (before, after)
    assert any(after[t] == before[t] for t in facts), "every fact committed: the kill came too late"

    run_gold(lake)  # the next run completes: a fact written since the last gold run makes it rebuild
    assert gold_rows(spark, lake) == expected
