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
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pulse import config
from pulse.tasks import package_spark_jobs

WARMUP_JOB = config.SPARK_JOBS_DIR / "jvm_warmup.py"


class ClassArchiveFailed(RuntimeError):
    """The warm-up job failed, or its JVM wrote no archive."""


def build(archive: Path | None = None) -> Path:
    """Write the archive to ``archive`` (default :func:`pulse.config.spark_class_archive`), replacing one that
    is there only when the new one is complete (a JVM starting meanwhile maps the old one or none)."""
    archive = archive or config.spark_class_archive()
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f"{archive.name}.partial")
    partial.unlink(missing_ok=True)
    beside_python = Path(sys.executable).parent / "spark-submit"  # the venv's, when it is not on PATH
    spark_submit = str(beside_python) if beside_python.exists() else shutil.which("spark-submit")
    if spark_submit is None:
        raise ClassArchiveFailed("spark-submit was not found: install the packages first (make install)")
    jobs_zip = package_spark_jobs()  # checks Java and the jars first, saying what is missing
    conf = {key: value for key, value in config.spark_conf().items() if key != config.DRIVER_JAVA_OPTIONS}
    conf |= {"spark.pyspark.python": config.spark_python(), "spark.pyspark.driver.python": config.spark_python(),
             # The JVM writes what it loaded when it exits; a JVM that maps an archive cannot write one.
             config.DRIVER_JAVA_OPTIONS: f"-XX:ArchiveClassesAtExit={partial}"}
    command = [spark_submit, "--master", "local[2]", "--driver-memory", config.spark_driver_memory(),
               *(arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")),
               "--jars", ",".join(config.spark_jars()), "--py-files", jobs_zip, str(WARMUP_JOB)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise ClassArchiveFailed(f"the JVM warm-up ({WARMUP_JOB.name}) wrote no class archive (exit code "
                                 f"{done.returncode}): Spark jobs run as before, only without it.\n"
                                 f"{done.stderr[-3000:]}")
    partial.replace(archive)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=None,
                        help=f"where to write it (default: {config.spark_class_archive()})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        archive = build(args.archive)
    except RuntimeError as err:  # ClassArchiveFailed, SparkJarsMissing, no Java
        print(f"✗ spark class archive: {err}", file=sys.stderr)
        return 1
    print(f"✓ spark class archive {archive} ({archive.stat().st_size / 1e6:.0f} MB, built in "
          f"{time.perf_counter() - started:.0f} s): every Spark driver maps it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
