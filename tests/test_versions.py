"""The Python side of PySpark and the JVM jars it ships are one Spark version.

The Spark provider requires ``pyspark-client``, which pip installs over ``pyspark``'s own files: with
pyspark 4.3.0 and pyspark-client 4.2.0, ``pyspark/version.py`` said 4.2.0 beside ``spark-core_2.13-4.3.0.jar``.
"""

from pathlib import Path

import pyspark

REPO = Path(__file__).resolve().parents[1]


def test_pyspark_reports_the_version_of_the_spark_jars_it_ships():
    jars = sorted((Path(pyspark.__file__).parent / "jars").glob("spark-core_*.jar"))
    assert len(jars) == 1, f"expected one spark-core jar, found {[j.name for j in jars]}"
    jar_version = jars[0].stem.split("-", 2)[2]  # spark-core_2.13-4.2.0
    assert pyspark.__version__ == jar_version, (
        f"pyspark says {pyspark.__version__} but its jars are Spark {jar_version}: pin pyspark and "
        f"pyspark-client to the same version in requirements.txt")


def test_pyspark_and_pyspark_client_are_pinned_to_one_version():
    pins = dict(line.split("==") for line in (REPO / "requirements.txt").read_text().splitlines()
                if line.startswith(("pyspark==", "pyspark-client==")))
    assert pins.keys() == {"pyspark", "pyspark-client"} and len(set(pins.values())) == 1, pins
