"""The incremental lake: silver reads only the bronze committed since its last run and MERGEs it; gold
merges the slices silver's changes touched. Any sequence of runs gives the silver and gold a full rebuild
gives over the same bronze.

The reference is always independent of the code under test's incremental path: ``latest_versions`` over
all rows at once, or the job with ``--full-refresh true`` on a copy of the same bronze.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable

from pulse.config import REPO_ROOT, spark_conf, spark_jars
from spark_jobs.common import incremental
from spark_jobs.common.gold_changes import settings_changes
from spark_jobs.common.silver import latest_versions, merge_latest
from spark_jobs.creator import gold, silver
from spark_jobs.creator.schemas import QUARANTINE_SCHEMA, SILVER_DATASETS
from spark_jobs.creator.settings import GoldSettings
from tests.builders import written_silver
from tests.builders.creator import gold_rows, run_gold
from tests.processes import start
from tests.spark_tuning import SHORT_JOB

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]

RUN_DATES = [date(2026, 11, 18) + timedelta(days=i) for i in range(3)]


def test_merging_batches_in_turn_keeps_what_latest_versions_keeps_over_all_of_them(spark, tmp_path):
    """Random versions with ties and nulls in the ordering columns, merged batch by batch, against
    ``latest_versions`` over every row at once."""
    rng = random.Random(11)
    rows = [(f"k{rng.randrange(12)}", rng.choice([None, 1, 2, 3]), rng.choice([None, "a", "b"]), run, index)
            for run in range(4) for index in range(30)]
    columns = ["key", "updated", "label", "run", "record"]
    order = ("updated", "label", "run", "record")
    uri = str(tmp_path / "table")
    for run in range(4):
        batch = latest_versions(spark.createDataFrame([r for r in rows if r[3] == run], columns), ["key"], order)
        if run == 0:
            batch.write.format("delta").save(uri)
        else:
            merge_latest(spark, batch, uri, ["key"], order)
    expected = latest_versions(spark.createDataFrame(rows, columns), ["key"], order)
    merged = spark.read.format("delta").load(uri)
    assert sorted(merged.collect()) == sorted(expected.collect())
    assert merged.count() == 12


def test_newer_than_target_orders_nulls_below_every_value():
    condition = incremental.newer_than_target(("a", "b"))
    assert condition == ("((s.`a` > t.`a` OR (t.`a` IS NULL AND s.`a` IS NOT NULL)) OR (s.`a` <=> t.`a` AND "
                         "((s.`b` > t.`b` OR (t.`b` IS NULL AND s.`b` IS NOT NULL)) OR (s.`b` <=> t.`b` AND false))))")


def test_gold_ignores_updates_that_left_the_values_as_they_were(spark):
    from spark_jobs.common.gold_changes import without_unchanged_updates

    columns = ["id", "likes", "run_date", "_change_type", "_commit_version"]
    feed = spark.createDataFrame([
        ("a", 1, 1, "update_preimage", 5), ("a", 1, 2, "update_postimage", 5),  # served again: same likes
        ("b", 1, 1, "update_preimage", 5), ("b", 4, 2, "update_postimage", 5),  # really changed
        ("c", 7, 2, "insert", 5),
    ], columns)
    kept = without_unchanged_updates(feed, ["id"], ["id", "likes"])
    assert sorted((r["id"], r["_change_type"]) for r in kept.collect()) == [
        ("b", "update_postimage"), ("b", "update_preimage"), ("c", "insert")]


def ingest(lake: Path, run_date: date, monkeypatch, base_url: str) -> None:
    """The real creator ingest of one run date (a three-day window) into ``lake``'s bronze."""
    from devstack.stack import connection_env, http_connection
    from pulse.inputs import RunWindow
    from pulse.sources.creator import CREATOR_API_ENDPOINTS

    conns = connection_env({"creator_api": http_connection(int(base_url.rsplit(":", 1)[1]))})
    for name, value in {**conns, "PULSE_LAKE_ROOT": str(lake)}.items():
        monkeypatch.setenv(name, value)
    window = RunWindow(run_date=run_date, start=run_date - timedelta(days=3), end=run_date)
    for source_input in CREATOR_API_ENDPOINTS:
        source_input.ingest("creator", window)


def run_silver(lake: Path, run_date: date, *extra: str) -> dict:
    silver.main(["--lake-root", str(lake), "--run-date", run_date.isoformat(), "--source", "creator",
                 "--run-id", f"test__{run_date}", *extra])
    return json.loads((lake / "silver" / "creator" / "_counts.json").read_text())


def silver_tables(spark, lake: Path) -> dict[str, list]:
    return written_silver.silver_tables(spark, lake, "creator", SILVER_DATASETS)


@pytest.fixture(scope="module")
def simulator():
    from devstack.simulators.creator_api import SimulatorConfig, running_simulator
    from devstack.simulators.faults import FaultConfig

    faults = FaultConfig(malformed_rate=0.05, duplicate_rate=0.1, late_update_rate=0.1, fail_rate=0.1)
    with running_simulator(SimulatorConfig(seed=9, creators=12, faults=faults)) as base_url:
        yield base_url


def test_daily_incremental_runs_give_the_silver_and_gold_of_a_full_refresh_with_faults_on(
        spark, tmp_path, monkeypatch, simulator):
    """Three daily runs (the first builds, the next two merge; OPTIMIZE of bronze and silver in between
    changes nothing), then a rerun of a date (a replaced partition: the run rebuilds, saying why), each
    followed by gold; after the third and after the rerun, against ``--full-refresh`` on a copy of the same
    bronze. Then what makes gold rebuild (a RESTORE, a settings change) and silver (a RESTORE), each saying
    why. One lake for all of it: each job run costs the suite seconds."""
    lake = tmp_path / "incremental"
    zone = str(lake / "silver" / "creator")
    content, bronze_content = f"{zone}/content", str(lake / "bronze" / "creator" / "content")

    def changes(full_refresh: bool = False) -> incremental.BronzeChanges:
        return incremental.bronze_changes(spark, zone, "content", bronze_content, content, full_refresh)

    modes, gold_counts = [], []
    for run_date in RUN_DATES:
        ingest(lake, run_date, monkeypatch, simulator)
        counts = run_silver(lake, run_date)
        modes.append({name: (c["mode"], c["bronze_partitions"]) for name, c in counts.items()})
        run_gold(lake)
        gold_counts.append(json.loads((lake / "gold" / "creator" / "_counts.json").read_text()))
        for name, c in counts.items():  # what was read adds up
            assert c["bronze_rows"] == c["valid_rows"] + c["quarantined_rows"], name
            assert c["valid_rows"] == c["inserted"] + c["updated"] + c["duplicates_dropped"], name
        if run_date == RUN_DATES[0]:
            assert (changes().incremental, changes().run_dates) == (True, ())
            assert changes(full_refresh=True).reason == "--full-refresh"
            # OPTIMIZE of bronze and of silver rewrites files without changing data: the next run still merges.
            DeltaTable(bronze_content).optimize.compact()
            spark.sql(f"OPTIMIZE delta.`{content}`")
            assert changes().incremental
        if run_date != RUN_DATES[-1]:
            continue  # the first run is a full build itself (asserted below); the second merges, and so
            # does the third onto it: what the third leaves proves both
        # The rule: after daily incremental runs, gold equals a full refresh over the same bronze.
        reference = tmp_path / f"full-{run_date}"
        shutil.copytree(lake / "bronze", reference / "bronze")
        full = run_silver(reference, run_date, "--full-refresh", "true")
        assert all(c["mode"] == "full" for c in full.values())
        run_gold(reference)
        assert silver_tables(spark, lake) == silver_tables(spark, reference), run_date
        assert gold_rows(spark, lake) == gold_rows(spark, reference), run_date
        for name, c in counts.items():  # what silver holds is a rebuild's
            assert c["silver_rows"] == full[name]["silver_rows"], name

    assert modes[0] == {name: ("full", "all") for name in SILVER_DATASETS}
    assert modes[1] == {name: ("incremental", [RUN_DATES[1].isoformat()]) for name in SILVER_DATASETS}
    assert modes[2] == {name: ("incremental", [RUN_DATES[2].isoformat()]) for name in SILVER_DATASETS}
    assert [c["mode"] for c in gold_counts] == ["full", "incremental", "incremental"]
    for c in gold_counts[1:]:  # gold merged slices: some, not every post and day of the history
        assert 0 < c["slices"]["fact_engagement"] < len(gold_rows(spark, lake)["fact_engagement"])
        assert 0 < c["slices"]["fact_content"] < len(gold_rows(spark, lake)["fact_content"])
    assert [c["small_tables"] for c in gold_counts] == ["written"] * 3  # the facts changed every run

    # The incremental runs read one day's bronze, not the history.
    bronze_rows = {name: DeltaTable(str(lake / "bronze" / "creator" / name)).to_pyarrow_table().num_rows
                   for name in SILVER_DATASETS}
    last = run_silver(lake, RUN_DATES[2])  # nothing new since: reads nothing, writes nothing
    assert {n: (c["mode"], c["bronze_rows"], c["inserted"], c["updated"]) for n, c in last.items()} == {
        n: ("incremental", 0, 0, 0) for n in SILVER_DATASETS}
    assert all(last[n]["silver_rows"] < bronze_rows[n] for n in SILVER_DATASETS)
    # Quarantined rows were appended once each, by the run that read them (the run above appended none).
    for name in SILVER_DATASETS:
        frame = spark.read.format("delta").load(f"{zone}/_quarantine/{name}")
        assert frame.schema == QUARANTINE_SCHEMA
        rows = frame.collect()
        assert {r["run_id"] for r in rows} <= {f"test__{d}" for d in RUN_DATES}, name
        assert all(r["run_id"] == f"test__{r['run_date']}" for r in rows), name
        assert len({(r["run_date"], r["record_index"]) for r in rows}) == len(rows), name
    assert spark.read.format("delta").load(f"{zone}/_quarantine/content").count() > 0, "the faults quarantined nothing"

    # A rerun of an ingested date replaces its partition: silver is rebuilt, and still equals the reference.
    ingest(lake, RUN_DATES[1], monkeypatch, simulator)
    rerun = run_silver(lake, RUN_DATES[1])
    assert {c["mode"] for c in rerun.values()} == {"full"}
    reference = tmp_path / "full-rerun"
    shutil.copytree(lake / "bronze", reference / "bronze")
    run_silver(reference, RUN_DATES[1], "--full-refresh", "true")
    assert silver_tables(spark, lake) == silver_tables(spark, reference)
    run_gold(lake)
    run_gold(reference)
    gold_counts_file = lake / "gold" / "creator" / "_counts.json"
    reason = json.loads(gold_counts_file.read_text())["reason"]
    assert reason.startswith("silver ") and " was rebuilt since the last gold run" in reason, reason
    assert gold_rows(spark, lake) == gold_rows(spark, reference)

    # Gold: silver unchanged, nothing to merge; a rollback's RESTORE of a gold table, or a change of the
    # settings every gold row was computed with, makes the next run rebuild, saying why.
    def gold_versions() -> dict[str, int]:
        return {table: DeltaTable(str(lake / "gold" / "creator" / table)).version() for table in gold.GOLD_TABLES}

    before = gold_versions()
    run_gold(lake)
    after_noop = json.loads(gold_counts_file.read_text())
    assert after_noop["slices"] == {"fact_content": 0, "fact_engagement": 0, "dates": []}
    # ... and the dimensions and benchmarks, computed from what did not move, are not written again
    assert (after_noop["small_tables"], gold_versions()) == ("unchanged", before)
    # A MERGE into silver's demographics alone (no fact moves) still makes the dimensions anew: the gold of a
    # full refresh over the same silver.
    demographics = lake / "silver" / "creator" / "demographics"
    spark.sql(f"MERGE INTO delta.`{demographics}` t "
              f"USING (SELECT min(user_id) AS user_id FROM delta.`{demographics}`) s ON t.user_id = s.user_id "
              "WHEN MATCHED THEN UPDATE SET t.subscription_tier = 'tier-changed-by-hand'")
    run_gold(lake)
    assert json.loads(gold_counts_file.read_text())["small_tables"] == "written"
    by_hand = tmp_path / "full-after-hand-merge"
    shutil.copytree(lake / "silver", by_hand / "silver")
    gold.main(["--lake-root", str(by_hand), "--run-date", "2026-11-20", "--source", "creator", "--full-refresh", "true",
               *GoldSettings().job_args()])
    assert gold_rows(spark, lake) == gold_rows(spark, by_hand)
    assert "tier-changed-by-hand" in {r["subscription_tier"] for r in gold_rows(spark, lake)["dim_creators"]}
    spark.sql(f"RESTORE TABLE delta.`{lake / 'gold' / 'creator' / 'fact_content'}` TO VERSION AS OF 0")
    run_gold(lake)
    assert json.loads(gold_counts_file.read_text())["reason"] == (
        "gold table fact_content was written since the last gold run (a rollback, a hand edit)")
    gold.main(["--lake-root", str(lake), "--run-date", "2026-11-20", "--source", "creator",
               *GoldSettings(viral_reach=50_000).job_args()])
    assert json.loads(gold_counts_file.read_text())["reason"] == (
        "gold settings changed since the last gold run (viral-reach 100000 → 50000)")

    # Silver: a RESTORE is a write the watermark does not know: the next run rebuilds, saying so.
    assert (changes().incremental, changes().run_dates) == (True, ())
    spark.sql(f"RESTORE TABLE delta.`{content}` TO VERSION AS OF 0")
    assert changes().reason.startswith("silver was written since its last recorded run")


def test_settings_changes_name_each_changed_setting_and_treat_unrecorded_settings_as_changed():
    assert settings_changes({"a": "1", "b": "x"}, {"a": "1", "b": "x"}) is None
    assert settings_changes({"a": "1", "b": "x"}, {"a": "2", "b": "x", "c": "3"}) == "a 1 → 2, c (unset) → 3"
    assert settings_changes(None, {"a": "1"}) == "the last gold run recorded no settings"


@pytest.fixture(scope="module")
def jobs_zip(tmp_path_factory) -> Path:
    """``spark_jobs`` zipped for ``--py-files``, as ``package_spark_jobs`` does."""
    target = tmp_path_factory.mktemp("dist") / "spark_jobs"
    shutil.make_archive(str(target), "zip", root_dir=REPO_ROOT, base_dir="spark_jobs")
    return target.with_suffix(".zip")


def submit_silver(lake: Path, run_date: date, jobs_zip: Path, log: Path):
    conf = {**spark_conf(SHORT_JOB), "spark.sql.shuffle.partitions": "2",
            "spark.databricks.delta.snapshotPartitions": "2",
            "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2", "spark.ui.enabled": "false"}
    args = [str(Path(sys.executable).parent / "spark-submit"), "--master", "local[1]", "--driver-memory", "768m",
            "--jars", ",".join(spark_jars()), "--py-files", str(jobs_zip),
            *(part for key, value in conf.items() for part in ("--conf", f"{key}={value}")),
            str(REPO_ROOT / "spark_jobs" / "creator" / "silver.py"), "--lake-root", f"file://{lake}",
            "--run-date", run_date.isoformat(), "--source", "creator", "--run-id", "killed"]
    return start(args, log, env={**os.environ, "PYSPARK_PYTHON": sys.executable})


def silver_folders(lake: Path) -> list[Path]:
    zone = lake / "silver" / "creator"
    return [zone / n for n in SILVER_DATASETS] + [zone / "_quarantine" / n for n in SILVER_DATASETS]


def silver_versions(lake: Path) -> dict[str, int]:
    return {str(f): DeltaTable(str(f)).version() for f in silver_folders(lake)}


def files_in_flight(lake: Path, known: dict[Path, set[str]]) -> bool:
    """Whether a silver table's folder holds a data file its current version does not list. The files a
    commit listed join ``known``: a poll every few milliseconds reads a table's log once per commit, not each
    time (those reads took a core from the run being watched)."""
    for folder in silver_folders(lake):
        if new := {p.name for p in folder.glob("*.parquet")} - known[folder]:
            listed = {Path(f).name for f in DeltaTable(str(folder)).file_uris()}
            known[folder] |= new & listed
            if new - listed:
                return True
    return False


def test_a_silver_run_killed_in_the_middle_of_its_merge_leaves_committed_versions_and_the_next_run_completes(
        spark, tmp_path, monkeypatch, simulator, jobs_zip):
    lake = tmp_path / "lake"
    ingest(lake, RUN_DATES[0], monkeypatch, simulator)
    run_silver(lake, RUN_DATES[0])
    ingest(lake, RUN_DATES[1], monkeypatch, simulator)
    before = silver_versions(lake)
    known = {folder: {p.name for p in folder.glob("*.parquet")} for folder in silver_folders(lake)}
    run = submit_silver(lake, RUN_DATES[1], jobs_zip, tmp_path / "killed.log")
    try:
        deadline = time.monotonic() + 600
        while not files_in_flight(lake, known):  # wait for a state: a MERGE has written, not committed
            assert run.running(), f"the run ended before it was caught mid-merge:\n{run.log_tail()}"
            assert time.monotonic() < deadline, "no merge in flight within 10 minutes"
            time.sleep(0.002)
        os.killpg(run.process.pid, signal.SIGKILL)  # kill -9 of spark-submit and the driver it started
        run.process.wait(timeout=60)
    finally:
        run.stop(grace=1)
    assert "incremental: bronze versions" in run.log_tail(200_000)

    after = silver_versions(lake)
    assert all(after[t] in (before[t], before[t] + 1) for t in after), (before, after)
    assert any(after[t] == before[t] for t in after), "every table committed: the kill came too late"

    counts = run_silver(lake, RUN_DATES[1])  # the next run completes (merging, or rebuilding what it cannot trust)
    assert set(counts) == set(SILVER_DATASETS)
    reference = tmp_path / "full"
    shutil.copytree(lake / "bronze", reference / "bronze")
    run_silver(reference, RUN_DATES[1], "--full-refresh", "true")
    assert silver_tables(spark, lake) == silver_tables(spark, reference)
    run_gold(lake)
    run_gold(reference)
    assert gold_rows(spark, lake) == gold_rows(spark, reference)
