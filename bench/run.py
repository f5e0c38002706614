"""`make bench`: the creator pipeline's stages at two scales, against their floors.

Writes ``bench/results/<timestamp>.md`` and prints it. See bench/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

from bench.one_jvm import MARK as ONE_JVM_MARK
from devstack.stack import psql_binary, start_postgres, stop_postgres
from pulse.config import REPO_ROOT, SPARK_JOBS_DIR
from pulse.http_ingest import LinksNextPagination, RetryPolicy, ingest_endpoint
from pulse.sources.creator import CREATOR, CREATOR_API_ENDPOINTS
from pulse.warehouse import LAKE_VERSIONS_TABLE, gold_dataset, publish_gold, stage_gold, staging_schema
from tests.processes import free_port
from tests.processes import start as start_process

END_DATE = dt.date(2026, 11, 21)
DAYS = 90


@dataclass
class Row:
    scale: str
    stage: str
    seconds: float
    rows: int
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    ratios: list[tuple[str, str, float, str]] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(f"  {row.scale:6} {row.stage:34} {row.seconds:9.2f}s {row.rows:>12,} rows "
              f"{row.rate:>12,.0f}/s  {row.note}", flush=True)
        return row

    def markdown(self) -> str:
        out = ["| scale | stage | seconds | rows | rows/s | note |", "|---|---|---:|---:|---:|---|"]
        out += [f"| {r.scale} | {r.stage} | {r.seconds:.2f} | {r.rows:,} | {r.rate:,.0f} | {r.note} |"
                for r in self.rows]
        out += ["", "| scale | ratio | value | target |", "|---|---|---:|---|"]
        out += [f"| {s} | {name} | {value:.2f} | {target} |" for s, name, value, target in self.ratios]
        return "\n".join(out)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def daily_windows(days: int, end_date: dt.date = END_DATE):
    for offset in range(days, 0, -1):
        start = end_date - dt.timedelta(days=offset)
        yield start, start + dt.timedelta(days=1)


def _ingest_endpoint_days(base_url: str, lake: Path, endpoint, days: int, end_date: dt.date = END_DATE) -> int:
    session = requests.Session()
    records = 0
    for start, end in daily_windows(days, end_date):
        result = ingest_endpoint(
            session=session, base_url=base_url, api_name="creator_api", source="creator",
            endpoint=endpoint.name, path=endpoint.path,
            params={"start_date": start.isoformat(), "end_date": end.isoformat(), "limit": endpoint.page_size},
            run_date=start, lake_root=str(lake), policy=RetryPolicy())
        records += result.records
    return records


def bench_ingest(report: Report, scale: str, base_url: str, lake: Path, days: int) -> None:
    """Ingest every endpoint day by day, the endpoints side by side as the DAG's ingest tasks run, then
    the floor: one plain sequential loop over the same pages that parses them and writes nothing."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(CREATOR_API_ENDPOINTS)) as pool:
        rows = sum(pool.map(lambda e: _ingest_endpoint_days(base_url, lake, e, days), CREATOR_API_ENDPOINTS))
    ours = report.add(Row(scale, "ingest (ours, writes bronze)", time.perf_counter() - started, rows,
                          "endpoints in parallel, as the DAG's tasks"))

    pagination = LinksNextPagination()
    loop_rows = 0
    session = requests.Session()
    started = time.perf_counter()
    for endpoint in CREATOR_API_ENDPOINTS:
        for start, end in daily_windows(days):
            url = f"{base_url}/{endpoint.path}"
            params = {"start_date": start.isoformat(), "end_date": end.isoformat(), "limit": endpoint.page_size}
            while url:
                body = session.get(url, params=params, timeout=60).json()
                loop_rows += len(body["data"])
                url, params = pagination.next_url(body, base_url), None
    loop = report.add(Row(scale, "ingest floor (plain requests loop)", time.perf_counter() - started, loop_rows,
                          "sequential, writes nothing"))
    report.ratios.append((scale, "ingest rate / plain loop rate", ours.rate / loop.rate, ">= 1.0"))


@contextmanager
def simulator_process(creators: int, work: Path):
    """The creator simulator in its own process, as a remote API would be (not sharing our GIL)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "include"), str(REPO_ROOT)])}
    simulator = start_process([sys.executable, "-m", "devstack.simulators.creator_api", "--host", "127.0.0.1", "--port",
                       str(port), "--seed", "42", "--creators", str(creators)], work / "simulator.log", env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        simulator.wait_until("the creator simulator", lambda: requests.get(f"{base_url}/api/health", timeout=2).ok,
                             timeout=120, every=0.2)
        yield base_url
    finally:
        simulator.stop(grace=30)


def _submit(script: Path, zip_dir: Path, *args: str) -> tuple[float, str]:
    """spark-submit ``script`` with ``args`` on ``local[*]`` with the DAG's own Spark settings and Delta jars,
    and the jobs' package (zipped once into ``zip_dir``): its seconds and its standard output."""
    zip_path = zip_dir / "spark_jobs.zip"
    if not zip_path.exists():
        shutil.make_archive(str(zip_path.with_suffix("")), "zip", REPO_ROOT, "spark_jobs")
    from pulse.config import spark_conf, spark_jars

    confs = [arg for key, value in spark_conf().items() for arg in ("--conf", f"{key}={value}")]
    command = [str(Path(sys.executable).parent / "spark-submit"), "--master", "local[*]", "--driver-memory", "4g",
               *confs, "--jars", ",".join(spark_jars()), "--py-files", str(zip_path), str(script), *args]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{script.name} failed:\n{done.stderr[-4000:]}")
    return time.perf_counter() - started, done.stdout


def spark_submit(job: str, lake: Path, run_date: dt.date = END_DATE, *extra: str) -> float:
    seconds, _ = _submit(SPARK_JOBS_DIR / job, lake.parent, "--lake-root", str(lake), "--run-date",
                         run_date.isoformat(), "--source", "creator", *extra)
    return seconds


def silver_and_gold(lake: Path, run_date: dt.date, *extra: str) -> float:
    """The creator silver job and then its gold job on ``lake`` for ``run_date``: their seconds together."""
    return (spark_submit(CREATOR.silver_job, lake, run_date, *extra)
            + spark_submit(CREATOR.gold_job, lake, run_date, *extra))


def bench_spark(report: Report, scale: str, lake: Path, bronze_rows: int) -> float:
    silver = report.add(Row(scale, "silver (spark-submit)", spark_submit(CREATOR.silver_job, lake), bronze_rows))
    gold = report.add(Row(scale, "gold (spark-submit)", spark_submit(CREATOR.gold_job, lake), bronze_rows))
    return silver.seconds + gold.seconds


def bench_duckdb(report: Report, scale: str, lake: Path, spark_seconds: float, bronze_rows: int) -> None:
    floor = Path(__file__).with_name("duckdb_floor.py")
    if not floor.exists():
        report.ratios.append((scale, "spark / duckdb", float("nan"), "<= 5 (duckdb floor not written yet)"))
        return
    from bench.duckdb_floor import run_floor

    _, seconds = timed(run_floor, lake)
    report.add(Row(scale, "silver+gold floor (DuckDB)", seconds, bronze_rows))
    report.ratios.append((scale, "spark silver+gold time / duckdb time", spark_seconds / seconds, "<= 5"))


def bench_load(report: Report, scale: str, lake: Path, pg: dict, work: Path) -> None:
    import pyarrow.csv as pacsv

    tables = [t.name for t in CREATOR.gold_tables]
    gold_root = lake / "gold" / "creator"
    with psycopg.connect(host=pg["host"], port=pg["port"], user="postgres", dbname="pulse", autocommit=True) as conn:
        counts, seconds = timed(stage_gold, conn, "creator", gold_root, tables)
        rows = sum(counts.values())
        ours = report.add(Row(scale, "stage gold (Arrow CSV → COPY)", seconds, rows))
        _, seconds = timed(publish_gold, conn, "creator", {t.name: t.key for t in CREATOR.gold_tables},
                           CREATOR.reporting_sql(), {"run_id": "bench", "run_date": END_DATE})
        report.add(Row(scale, "publish (keys + swap + views)", seconds, rows))
        # the same rows, as CSV files on disk, loaded by psql \copy into empty tables of the same shape
        conn.execute("DROP SCHEMA IF EXISTS bench_copy CASCADE")
        conn.execute("CREATE SCHEMA bench_copy")
        files = []
        for table in tables:
            conn.execute(f"CREATE TABLE bench_copy.{table} (LIKE gold.{table})")
            conn.execute(f"ALTER TABLE bench_copy.{table} DROP CONSTRAINT IF EXISTS {table}_pkey")
            path = work / f"{table}.csv"
            dataset = gold_dataset(gold_root / table)
            pacsv.write_csv(dataset.to_table(), path, pacsv.WriteOptions(include_header=False))
            files.append((table, path, ",".join(f'"{n}"' for n in dataset.schema.names)))
    script = "\n".join(f"\\copy bench_copy.{t} ({cols}) FROM '{p}' WITH (FORMAT csv)" for t, p, cols in files)
    env = {**os.environ, "PGHOST": pg["host"], "PGPORT": str(pg["port"]), "PGUSER": "postgres", "PGDATABASE": "pulse"}
    started = time.perf_counter()
    subprocess.run([psql_binary(), "-q", "-v", "ON_ERROR_STOP=1"], input=script, text=True, env=env, check=True)
    limit = report.add(Row(scale, "psql \\copy of the same rows", time.perf_counter() - started, rows))
    report.ratios.append((scale, "our load rate / psql \\copy rate", ours.rate / limit.rate, ">= 0.8"))


def _load(conn, lake: Path) -> tuple[int, float]:
    """Stage (a slice load where it applies) and publish the creator gold of ``lake``: the rows read from the
    lake (a slice load reads the changed rows only; the rest it copies inside PostgreSQL), seconds."""
    tables = {t.name: t.key for t in CREATOR.gold_tables}
    started = time.perf_counter()
    stage_gold(conn, "creator", lake / "gold" / "creator", list(tables), keys=tables)
    staged = f"{staging_schema('creator')}.{LAKE_VERSIONS_TABLE}"
    lake_rows = conn.execute(f"SELECT sum(lake_rows) FROM {staged}").fetchone()[0]
    publish_gold(conn, "creator", tables, CREATOR.reporting_sql(), {"run_id": "bench", "run_date": END_DATE})
    return int(lake_rows), time.perf_counter() - started


def bench_incremental(report: Report, scale: str, creators: int, pg: dict, work: Path,
                      histories: tuple[int, ...] = (30, 90)) -> None:
    """A daily run after ``histories`` days of history, against the full rebuild of the same history: the
    history is ingested and built once, the next day ingested, then timed: the daily (incremental) silver,
    gold and load; the same daily silver and gold again, which find nothing new (what a daily run costs
    before it does any work: JVM starts, sessions, Delta log reads); then the full rebuild
    (``--full-refresh true``) and full load of the same lake. Last, on copies of the lake as the day's ingest
    left it, the daily run and the full rebuild again in one Spark application (:func:`one_jvm`): what the
    two would cost if the jobs did not each start a JVM and a session."""
    for days in histories:
        lake = work / f"{scale}-incremental-{days}" / "lake"
        lake.mkdir(parents=True)
        history_end = END_DATE - dt.timedelta(days=1)
        with simulator_process(creators, lake.parent) as base_url:
            for endpoint in CREATOR_API_ENDPOINTS:
                _ingest_endpoint_days(base_url, lake, endpoint, days, history_end)
            with psycopg.connect(host=pg["host"], port=pg["port"], user="postgres", dbname="pulse",
                                 autocommit=True) as conn:
                silver_and_gold(lake, history_end - dt.timedelta(days=1))
                _load(conn, lake)  # the history, built and published
                day_rows = sum(_ingest_endpoint_days(base_url, lake, e, 1) for e in CREATOR_API_ENDPOINTS)
                copies = _copies(lake, ("warmup", "daily", "full"))  # for the one-JVM runs, at the end
                daily = silver_and_gold(lake, END_DATE - dt.timedelta(days=1))
                daily_rows, daily_load = _load(conn, lake)
                floor = silver_and_gold(lake, END_DATE - dt.timedelta(days=1))
                full = silver_and_gold(lake, END_DATE, "--full-refresh", "true")
                full_rows, full_load = _load(conn, lake)
        warm = one_jvm(copies, END_DATE - dt.timedelta(days=1), END_DATE)
        report.add(Row(scale, f"daily silver+gold after {days} days", daily, day_rows, "incremental"))
        report.add(Row(scale, f"daily silver+gold after {days} days, again", floor, 0,
                       "nothing new: the floor of a daily run"))
        report.add(Row(scale, f"full silver+gold of {days}+1 days", full, 0, "--full-refresh true"))
        report.add(Row(scale, f"daily silver+gold after {days} days, one JVM", warm["daily"], day_rows,
                       "in one Spark application, after a warm-up daily run"))
        report.add(Row(scale, f"full silver+gold of {days}+1 days, one JVM", warm["full"], 0,
                       "the same application, --full-refresh true"))
        report.add(Row(scale, f"daily load after {days} days", daily_load, daily_rows, "slice loads"))
        report.add(Row(scale, f"full load of {days}+1 days", full_load, full_rows, "COPY of every table"))
        report.ratios.append((scale, f"daily / full silver+gold, {days} days", daily / full,
                              "<= 0.25 at 30 days" if days == 30 else "below the 30-day ratio"))
        report.ratios.append((scale, f"daily with nothing new / full silver+gold, {days} days", floor / full, "-"))
        report.ratios.append((scale, f"daily / full silver+gold in one JVM, {days} days",
                              warm["daily"] / warm["full"], "-"))
        report.ratios.append((scale, f"daily / full load, {days} days", daily_load / full_load, "-"))


def _copies(lake: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """Copies of ``lake`` beside its folder, one per name: ``<folder>-<name>/lake``."""
    copies = {name: lake.parent.with_name(f"{lake.parent.name}-{name}") / "lake" for name in names}
    for copy in copies.values():
        shutil.copytree(lake, copy)
    return copies


def one_jvm(lakes: dict[str, Path], daily_date: dt.date, full_date: dt.date) -> dict[str, float]:
    """The daily run and the full rebuild in one Spark application (:mod:`bench.one_jvm`) on the ``lakes``
    copies (``warmup``, ``daily``, ``full``): their seconds, a long-lived Spark's cost. The copies are
    deleted after."""
    _, out = _submit(REPO_ROOT / "bench" / "one_jvm.py", lakes["warmup"].parent,
                     *(str(lakes[name]) for name in ("warmup", "daily", "full")),
                     daily_date.isoformat(), full_date.isoformat())
    for lake in lakes.values():
        shutil.rmtree(lake.parent, ignore_errors=True)
    line = next((line for line in out.splitlines() if line.startswith(ONE_JVM_MARK)), None)
    if line is None:
        raise RuntimeError(f"bench/one_jvm.py printed no {ONE_JVM_MARK.strip()!r} line; its output ended:\n"
                           f"{out[-2000:]}")
    return json.loads(line[len(ONE_JVM_MARK):])


def bench_parse(report: Report, work: Path) -> None:
    """Each DAG file's parse time as the dag-processor pays it (:mod:`bench.parse_time`): the median of
    five fresh processes."""
    from bench.parse_time import TARGET_SECONDS, parse_seconds

    for dag_file in sorted((REPO_ROOT / "dags").glob("*.py")):
        runs = parse_seconds(dag_file, 5, work / "airflow")
        report.add(Row("-", f"parse {dag_file.name} (median of 5)", statistics.median(runs), 0,
                       f"min {min(runs):.2f} s, max {max(runs):.2f} s; target < {TARGET_SECONDS} s"))


def run_scale(report: Report, scale: str, creators: int, days: int, pg: dict, work: Path) -> None:
    lake = work / scale / "lake"
    lake.mkdir(parents=True)
    print(f"scale {scale}: {creators:,} creators, {days} days", flush=True)
    with simulator_process(creators, work / scale) as base_url:
        bench_ingest(report, scale, base_url, lake, days)
    from deltalake import DeltaTable

    bronze_rows = sum(DeltaTable(str(lake / "bronze" / "creator" / e.name)).to_pyarrow_dataset().count_rows()
                      for e in CREATOR_API_ENDPOINTS)
    spark_seconds = bench_spark(report, scale, lake, bronze_rows)
    bench_duckdb(report, scale, lake, spark_seconds, bronze_rows)
    bench_load(report, scale, lake, pg, work / scale)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--scales", default="demo,large", help="the scales of the stage rows; '' for none")
    parser.add_argument("--creators", type=int, default=1000)
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--large-factor", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the scratch lake and database")
    parser.add_argument("--incremental", default="demo",
                        help="the scales to run the daily-vs-full rows at; '' for none")
    parser.add_argument("--histories", default="30,90",
                        help="the days of history the daily-vs-full rows are measured after")
    args = parser.parse_args(argv)
    # the simulator and the ingest log every request at INFO: thousands of lines that hide the table
    for name in ("pulse", "airflow"):
        logging.getLogger(name).setLevel(logging.WARNING)
    report = Report()
    work = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    pg = start_postgres(work / "pgdata")
    try:
        bench_parse(report, work)
        for scale in filter(None, args.scales.split(",")):
            creators = args.creators * (args.large_factor if scale == "large" else 1)
            run_scale(report, scale, creators, args.days, pg, work)
        for scale in filter(None, args.incremental.split(",")):
            creators = args.creators * (args.large_factor if scale == "large" else 1)
            bench_incremental(report, scale, creators, pg, work,
                              tuple(int(days) for days in args.histories.split(",")))
    finally:
        stop_postgres(work / "pgdata")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    out = REPO_ROOT / "bench" / "results" / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    heading = f"# Pulse benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores"
    text = f"{heading}\n\n{report.markdown()}\n"
    out.write_text(text)
    print("\n" + text + f"\nwritten to {out}")


if __name__ == "__main__":
    main()
