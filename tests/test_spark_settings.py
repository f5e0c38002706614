"""``PULSE_SPARK_CONF``: more Spark settings for every job, on top of Pulse's own, or a clear error."""

import pytest

from pulse.config import SparkConfInvalid, spark_conf


def test_the_settings_are_added_and_win_over_pulses_own(monkeypatch):
    monkeypatch.setenv("PULSE_SPARK_CONF", '{"spark.executor.memory": "4g", "spark.sql.adaptive.enabled": false}')
    conf = spark_conf()
    assert conf["spark.executor.memory"] == "4g"
    assert conf["spark.sql.adaptive.enabled"] == "false"  # a JSON value as spark-submit --conf takes it
    assert conf["spark.sql.shuffle.partitions"] == "8"


@pytest.mark.parametrize("raw, says", [("spark.executor.memory=4g", "is not JSON"),
                                       ('["spark.executor.memory"]', "JSON object"),
                                       ('{"executor.memory": "4g"}', '"spark.\\*" settings')])
def test_anything_else_is_refused_saying_what_is_expected(monkeypatch, raw, says):
    monkeypatch.setenv("PULSE_SPARK_CONF", raw)
    monkeypatch.delenv("PULSE_SPARK_SHUFFLE_PARTITIONS", raising=False)
    with pytest.raises(SparkConfInvalid, match=says):
        spark_conf()


def test_the_driver_maps_the_class_archive_and_options_of_your_own_come_after(monkeypatch, tmp_path):
    from pulse.config import DRIVER_JAVA_OPTIONS, spark_class_archive

    monkeypatch.setenv("PULSE_SPARK_JARS_DIR", str(tmp_path))
    monkeypatch.delenv("PULSE_SPARK_CONF", raising=False)
    assert spark_class_archive() == tmp_path / "spark-classes.jsa"
    assert spark_conf()[DRIVER_JAVA_OPTIONS] == f"-XX:SharedArchiveFile={tmp_path / 'spark-classes.jsa'}"
    monkeypatch.setenv("PULSE_SPARK_CONF", '{"spark.driver.extraJavaOptions": "-Xshare:off -Dx=1"}')
    assert spark_conf()[DRIVER_JAVA_OPTIONS].split() == [f"-XX:SharedArchiveFile={tmp_path / 'spark-classes.jsa'}",
                                                         "-Xshare:off", "-Dx=1"]
    # a submitter's own settings (the suite's SHORT_JOB) are merged the same way, last
    conf = spark_conf({"spark.driver.extraJavaOptions": "-Dy=2", "spark.sql.adaptive.enabled": "false"})
    assert conf[DRIVER_JAVA_OPTIONS].split()[1:] == ["-Xshare:off", "-Dx=1", "-Dy=2"]
    assert conf["spark.sql.adaptive.enabled"] == "false"
