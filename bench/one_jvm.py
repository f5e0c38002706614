"""The creator silver and gold jobs in one Spark application, as a long-lived Spark would run them.

`make bench` submits this file once per history (``bench_incremental``), with three copies of the same lake,
taken after the next day's ingest: a daily run on the first warms the JVM up (class loading, JIT, Spark's
generated code, Delta's classes), then a daily run on the second and a ``--full-refresh`` on the third are
timed. Each calls the jobs' own ``main`` in this one driver, so the session is the one spark-submit made.
What the warm runs cost against the cold ones (a spark-submit each, as the DAGs run them) is the fixed
cost per job that a Spark Connect server or any other long-lived driver would save.

Under spark-submit: ``one_jvm.py WARMUP_LAKE DAILY_LAKE FULL_LAKE DAILY_DATE FULL_DATE``; prints one line,
``one-jvm {"daily": seconds, "full": seconds}``.
"""

from __future__ import annotations

import json
import sys
import time

MARK = "one-jvm "


def silver_and_gold(lake: str, run_date: str, *extra: str) -> float:
    """The creator silver job's ``main`` and then gold's, on ``lake`` for ``run_date``: their seconds."""
    from spark_jobs.creator import gold, silver

    argv = ["--lake-root", lake, "--run-date", run_date, "--source", "creator", *extra]
    started = time.perf_counter()
    silver.main(argv)
    gold.main(argv)
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    warmup_lake, daily_lake, full_lake, daily_date, full_date = argv
    silver_and_gold(warmup_lake, daily_date)
    timings = {"daily": silver_and_gold(daily_lake, daily_date),
               "full": silver_and_gold(full_lake, full_date, "--full-refresh", "true")}
    print(MARK + json.dumps(timings), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
