"""The class archive `make jars` builds (``pulse.spark_class_archive``) is one a Spark driver can map.

A JVM silently ignores an archive that is missing, and one built for other jars or another JDK after a single
warning line: the jobs would run, only slower, and nothing would say so. Here the driver is started by
spark-submit with the options ``spark_conf`` gives it plus ``-Xshare:on``, which turns "cannot map the
archive" into a failure to start.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from pulse.config import DRIVER_JAVA_OPTIONS, spark_class_archive, spark_conf

pytestmark = pytest.mark.spark


def _driver_starts(java_options: str) -> subprocess.CompletedProcess:
    spark_submit = Path(sys.executable).parent / "spark-submit"
    return subprocess.run([str(spark_submit), "--conf", f"{DRIVER_JAVA_OPTIONS}={java_options}", "--version"],
                          capture_output=True, text=True, timeout=120)


def test_a_spark_driver_maps_the_archive_make_jars_built():
    archive = spark_class_archive()
    assert archive.is_file(), f"{archive} is missing: `make jars` builds it (python -m pulse.spark_class_archive)"
    started = _driver_starts(f"{spark_conf()[DRIVER_JAVA_OPTIONS]} -Xshare:on")
    assert started.returncode == 0, started.stdout + started.stderr


def test_the_check_fails_for_an_archive_the_driver_cannot_map(tmp_path):
    (tmp_path / "other.jsa").write_bytes(b"not a class archive")
    started = _driver_starts(f"-XX:SharedArchiveFile={tmp_path / 'other.jsa'} -Xshare:on")
    assert started.returncode != 0
    assert "shared archive" in (started.stdout + started.stderr)
