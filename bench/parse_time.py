"""How long each DAG file takes to parse, measured as Airflow's dag-processor pays it.

The processor parses each file in a process of its own, in which Airflow is already imported, and
again on every re-parse. So does this: one fresh Python per measurement imports Airflow and ``DagBag``
first (not counted), then fills a ``DagBag`` from the one file and reports the file's duration from
``DagBag``'s own stats: the file's imports (providers, Pulse's modules) and the DAG's construction.

    python -m bench.parse_time [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.5

_ONE_PARSE = """
import json, sys
import airflow.sdk  # noqa: F401  (the processor has Airflow imported before it parses a file)
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
stat = bag.dagbag_stats[0]
duration = stat.duration.total_seconds() if hasattr(stat.duration, "total_seconds") else stat.duration
print(json.dumps({"seconds": duration, "dags": stat.dag_num, "tasks": stat.task_num}))
"""


def parse_seconds(dag_file: Path, repeats: int = 5, airflow_home: Path | None = None) -> list[float]:
    """``repeats`` parse durations of ``dag_file``, each in a fresh process."""
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO)])}
    if airflow_home is not None:
        env["AIRFLOW_HOME"] = str(airflow_home)
    seconds = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", _ONE_PARSE, str(dag_file)], env=env, capture_output=True,
                              text=True, timeout=300, check=True)
        seconds.append(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.parse_time", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    for dag_file in sorted((REPO / "dags").glob("*.py")):
        runs = parse_seconds(dag_file, args.repeats)
        print(f"{dag_file.name:26} median {statistics.median(runs):.3f} s  (min {min(runs):.3f}, "
              f"max {max(runs):.3f}; target < {TARGET_SECONDS} s)")


if __name__ == "__main__":
    main()
