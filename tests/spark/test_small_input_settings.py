"""A job fits its Spark settings to the size of its input (``spark_jobs.common.job.fit_to_input``): under
``spark.pulse.smallInputBytes`` it sets the small-input settings on its session, otherwise it keeps the
submitter's."""

from __future__ import annotations

import pytest

from pulse.config import spark_conf
from spark_jobs.common.job import SMALL_INPUT_BYTES, SMALL_INPUT_CONF, fit_to_input

# Values unlike every small-input setting, so that what fit_to_input set can be told from what was there.
SUBMITTERS = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK",
              "spark.sql.adaptive.enabled": "true", "spark.sql.shuffle.partitions": "7",
              "spark.databricks.delta.snapshotPartitions": "7",
              "spark.sql.sources.parallelPartitionDiscovery.parallelism": "7"}


@pytest.fixture
def session(spark):
    """The shared session with the submitter's settings of SUBMITTERS; its own are put back afterwards."""
    keys = [*SUBMITTERS, SMALL_INPUT_BYTES]
    before = {key: spark.conf.get(key, None) for key in keys}
    for key, value in SUBMITTERS.items():
        spark.conf.set(key, value)
    yield spark
    for key, value in before.items():
        if value is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, value)


@pytest.fixture
def zones(tmp_path):
    """Two zone folders holding 3,000 bytes in three files, one of them nested, and a zone that is not there."""
    bronze, silver = tmp_path / "bronze", tmp_path / "silver"
    (bronze / "run_date=2026-12-01").mkdir(parents=True)
    silver.mkdir()
    (bronze / "run_date=2026-12-01" / "part-0.parquet").write_bytes(b"b" * 1000)
    (bronze / "part-1.parquet").write_bytes(b"b" * 1000)
    (silver / "part-0.parquet").write_bytes(b"s" * 1000)
    return [str(bronze), str(silver), str(tmp_path / "gold")]


def settings(spark) -> dict[str, str]:
    return {key: spark.conf.get(key) for key in SUBMITTERS}


def test_an_input_under_the_limit_gets_the_small_input_settings(session, zones):
    session.conf.set(SMALL_INPUT_BYTES, "3001")
    assert fit_to_input(session, zones) is True
    assert settings(session) == SMALL_INPUT_CONF


@pytest.mark.parametrize("limit", ["3000", "2999"])
def test_an_input_at_or_over_the_limit_keeps_the_submitters_settings(session, zones, limit):
    session.conf.set(SMALL_INPUT_BYTES, limit)  # the three files hold 3,000 bytes: at the limit is not under it
    assert fit_to_input(session, zones) is False
    assert settings(session) == SUBMITTERS


@pytest.mark.parametrize("limit", ["0", None])
def test_a_limit_of_0_or_none_keeps_the_submitters_settings_even_for_no_input(session, tmp_path, limit):
    if limit is None:
        session.conf.unset(SMALL_INPUT_BYTES)
    else:
        session.conf.set(SMALL_INPUT_BYTES, limit)
    assert fit_to_input(session, [str(tmp_path / "nothing")]) is False
    assert settings(session) == SUBMITTERS


def test_the_small_input_settings_are_the_ones_a_running_session_takes(spark):
    """fit_to_input sets them on a running session: each of Spark's must be a runtime SQL setting, not a static
    one. (Delta's own are not in Spark's registry, so isModifiable says no for them; Delta reads them from the
    session's settings whenever it computes a snapshot.)"""
    sparks = [key for key in SMALL_INPUT_CONF if not key.startswith("spark.databricks.delta.")]
    assert len(sparks) == len(SMALL_INPUT_CONF) - 1
    for key in sparks:
        assert spark.conf.isModifiable(key), f"{key} cannot be set on a running session"


def test_pulse_submits_every_job_with_a_limit_the_environment_can_change(monkeypatch):
    assert int(spark_conf()[SMALL_INPUT_BYTES]) > 0
    monkeypatch.setenv("PULSE_SPARK_SMALL_INPUT_BYTES", "0")
    assert spark_conf()[SMALL_INPUT_BYTES] == "0"
