"""Build the class-data-sharing archive every Pulse Spark driver maps at start (`make jars` runs this).

A spark-submit spends seconds loading and verifying Spark's, Delta's and their libraries' classes before and
while its first queries run: at demo scale that is much of a job's cost, and a daily run pays it twice. The
JDK's class data sharing keeps those classes in a file the JVM maps instead: this runs
``spark_jobs/jvm_warmup.py`` (what the jobs do, on a few rows) by spark-submit with
``-XX:ArchiveClassesAtExit``, so the JVM writes the classes it loaded when it exits, and the archive goes where
:func:`pulse.config.spark_class_archive` says, which :func:`pulse.config.spark_conf` gives every driver.

The archive belongs to the jars it was built with (pyspark's, and those of ``spark_jars``) and to the JDK:
with others the JVM ignores it, after one warning line. `make jars` builds it again when the jars or the
installed packages change. Usage: ``python -m pulse.spark_class_archive [--archive PATH]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pulse import config

log = logging.getLogger(__name__)

WARMUP_JOB = config.REPO_ROOT / "spark_jobs" / "jvm_warmup.py"


class ClassArchiveFailed(RuntimeError):
    """The warm-up job failed, or its JVM wrote no archive."""


def build(archive: Path | None = None) -> Path:
    """Write the archive to ``archive`` (default :func:`pulse.config.spark_class_archive`), replacing one that
    is there only when the new one is complete (a JVM starting meanwhile maps the old one or none)."""
    archive = archive or config.spark_class_archive()
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f"{archive.name}.partial")
    partial.unlink(missing_ok=True)
    spark_submit = shutil.which("spark-submit", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if spark_submit is None:
        raise ClassArchiveFailed("spark-submit was not found: install the packages first (make install)")
    conf = {key: value for key, value in config.spark_conf().items() if key != config.DRIVER_JAVA_OPTIONS}
    command = [spark_submit, "--master", "local[2]", "--driver-memory", config.spark_driver_memory(),
               *(arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")),
               # The JVM writes what it loaded when it exits; a JVM that maps an archive cannot write one.
               "--conf", f"{config.DRIVER_JAVA_OPTIONS}=-XX:ArchiveClassesAtExit={partial}",
               "--jars", ",".join(config.spark_jars()), str(WARMUP_JOB)]
    env = {**os.environ, "PYSPARK_PYTHON": config.spark_python(),
           "PYTHONPATH": os.pathsep.join(filter(None, (str(config.REPO_ROOT), os.environ.get("PYTHONPATH"))))}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise ClassArchiveFailed(f"the JVM warm-up ({WARMUP_JOB.name}) wrote no class archive (exit code "
                                 f"{done.returncode}): Spark jobs run as before, only without it.\n"
                                 f"{done.stderr[-3000:]}")
    partial.replace(archive)
    log.info("class archive %s: %.0f MB, built in %.0f s", archive, archive.stat().st_size / 1e6,
             time.perf_counter() - started)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=None,
                        help=f"where to write it (default: {config.spark_class_archive()})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        archive = build(args.archive)
    except (ClassArchiveFailed, config.SparkJarsMissing) as err:
        print(f"✗ spark class archive: {err}", file=sys.stderr)
        return 1
    print(f"✓ spark class archive {archive} ({archive.stat().st_size / 1e6:.0f} MB): every Spark driver maps it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
