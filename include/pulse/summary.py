"""What a finished run produced, printed for a person: ``python -m pulse.summary creator``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

from pulse.config import lake_root
from pulse.dashboards.data import view_exists
from pulse.sources import SOURCES
from pulse.sources.base import Source


def _fmt(value) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def summary_text(source: Source, conn, lake: Path, run_log: Path | None = None) -> str:
    lines = [f"Pulse — {source.title} ({source.dag_id})", ""]
    published = conn.execute(
        "SELECT run_date, published_at, row_counts FROM pulse_meta.publish_log WHERE source = %s "
        "ORDER BY published_at DESC LIMIT 1", (source.name,)).fetchone()
    if not published:
        return "\n".join([*lines, "Nothing has been published yet."])
    run_date, published_at, counts = published
    lines.append(f"Gold tables in PostgreSQL schema gold (run date {run_date}, published "
                 f"{published_at:%Y-%m-%d %H:%M:%S %Z}):")
    lines += [f"  {name:24} {_fmt(count):>12} rows" for name, count in counts.items()]
    if view_exists(conn, "reporting", f"{source.name}_kpis"):
        cur = conn.execute(f"SELECT * FROM reporting.{source.name}_kpis")
        rows = cur.fetchall()
        lines += ["", f"Headline figures (reporting.{source.name}_kpis):"]
        for row in rows:
            if len(rows) > 1:
                lines.append(f"  -- {row[0]}")
            lines += [f"  {col.name:30} {_fmt(val)}" for col, val in zip(cur.description, row, strict=True)
                      if len(rows) == 1 or col is not cur.description[0]]
    if view_exists(conn, "reporting", f"{source.name}_content_by_source"):
        by_source = conn.execute(
            "SELECT source, platform, sum(posts)::bigint, string_agg(DISTINCT metric_definition, ', ') "
            f"FROM reporting.{source.name}_content_by_source GROUP BY source, platform "
            "ORDER BY source, platform").fetchall()
        if by_source:
            lines += ["", f"Other sources' posts and videos in fact_content (reporting.{source.name}_content_by_source;"
                          " views counted as):"]
            lines += [f"  {src:12} {platform:10} {_fmt(posts):>8} posts   {definitions}"
                      for src, platform, posts, definitions in by_source]
    counts_file = lake / "silver" / source.name / "_counts.json"
    if counts_file.exists():
        lines += ["", "Silver (bronze rows the last run read → valid → rows silver holds, with quarantined and "
                      "duplicate rows; full rebuild or incremental merge):"]
        silver_counts = json.loads(counts_file.read_text())
        width = max(map(len, silver_counts), default=0)
        for dataset, c in silver_counts.items():
            lines.append(f"  {dataset:{width}} {_fmt(c['bronze_rows']):>10} → {_fmt(c['valid_rows']):>10} → "
                         f"{_fmt(c['silver_rows']):>10}   quarantined {_fmt(c['quarantined_rows'])}, "
                         f"duplicates dropped {_fmt(c['duplicates_dropped'])}, {c.get('mode', 'full')}")
    if any(i.name == "youtube" for i in source.inputs):
        from pulse.youtube_ingest import crawl_summary_lines

        crawl = crawl_summary_lines(lake)
        if crawl:
            lines += ["", "Inputs:", *(f"  {line}" for line in crawl)]
    lines += [
        "",
        "Where to look:",
        f"  lake         {lake}/{{bronze,silver,gold}}/{source.name}",
        f"  quarantine   {lake}/silver/{source.name}/_quarantine/",
        "  warehouse    make psql   (then: \\dt gold.*   and   SELECT * FROM reporting."
        f"{source.name}_kpis;)",
        "  Airflow UI   make airflow   → http://localhost:8080",
    ]
    if run_log:
        lines.append(f"  run log      {run_log}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pulse.summary")
    parser.add_argument("source", choices=sorted(SOURCES))
    parser.add_argument("--run-log", type=Path)
    args = parser.parse_args(argv)
    from pulse.tasks import warehouse_connection

    conn = warehouse_connection()
    try:
        print(summary_text(SOURCES[args.source], conn, Path(lake_root()), args.run_log))
    finally:
        conn.close()


if __name__ == "__main__":
    main()
    # Reading a Delta table into Arrow (the YouTube crawl's state) leaves native worker threads that Python's
    # teardown can abort on ("terminate called without an active exception", exit 134, after the summary was
    # printed: delta-rs issue 2184). Everything is written: leave without that teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
