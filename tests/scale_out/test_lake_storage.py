"""Where the lake lives, as Pulse reads the setting: a directory, a file:// URI or an Azure URI, and what
Spark is given for each, and the staging folders of writers that were killed. (Azure itself, through
Azurite, is in test_azure_lake.py.)"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest

from pulse.lake import BronzePartitionWriter
from pulse.lake_storage import (
    STAGING_ROOT,
    LakeStorageError,
    is_remote,
    lake_path,
    parse_azure_uri,
    spark_uri,
)
from tests.processes import Child, start


@pytest.mark.parametrize(("uri", "container", "account", "prefix"), [
    ("abfss://lake@pulseacct.dfs.core.windows.net/pulse/zones", "lake", "pulseacct", "pulse/zones"),
    ("abfs://lake@pulseacct.dfs.core.windows.net", "lake", "pulseacct", ""),
    ("wasbs://inbox@pulseacct.blob.core.windows.net/spotify/", "inbox", "pulseacct", "spotify"),
    ("az://lake/pulse", "lake", None, "pulse"),
])
def test_an_azure_uri_names_its_container_account_and_prefix(uri, container, account, prefix):
    location = parse_azure_uri(uri)
    assert (location.container, location.account, location.prefix) == (container, account, prefix)
    assert location.fsspec_url == f"abfs://{container}/{prefix}".rstrip("/")
    assert is_remote(uri)


def test_an_azure_uri_without_a_container_is_refused_with_the_forms_that_work():
    with pytest.raises(LakeStorageError, match="names no container: use abfss://<container>@<account>"):
        parse_azure_uri("abfss://@pulseacct.dfs.core.windows.net/pulse")


def test_spark_gets_an_absolute_file_uri_for_a_directory_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert spark_uri("lake") == f"file://{tmp_path.resolve()}/lake"
    assert spark_uri(tmp_path / "lake") == f"file://{tmp_path.resolve()}/lake"
    assert spark_uri("abfss://lake@acct.dfs.core.windows.net/p") == "abfss://lake@acct.dfs.core.windows.net/p"


def test_a_directory_or_file_uri_is_a_local_path(tmp_path):
    assert lake_path(str(tmp_path)) == tmp_path
    assert lake_path(f"file://{tmp_path}") == tmp_path
    assert not is_remote(tmp_path) and not is_remote(str(tmp_path))


# A writer in a process of its own: it stages a page of rows, says where, then waits to be killed (or
# stopped). argv: lake, source, endpoint, file to write the staging folder's path to.
STAGING_WRITER = """
import signal, sys
from datetime import date
from pathlib import Path
from pulse.lake import BronzePartitionWriter
writer = BronzePartitionWriter(sys.argv[1], sys.argv[2], sys.argv[3], date(2026, 12, 1), rows_per_group=1)
writer.add_page(1, "https://api.example/v1/x", [{"n": n} for n in range(100)])
Path(sys.argv[4] + ".part").write_text(str(writer.staging_path))
Path(sys.argv[4] + ".part").rename(sys.argv[4])
signal.pause()
"""


def _start_writer(tmp_path: Path, name: str, endpoint: str) -> tuple[Child, Path]:
    said = tmp_path / f"{name}.staging"
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "PYTHONPATH": os.pathsep.join(sys.path)}
    child = start([sys.executable, "-c", STAGING_WRITER, str(tmp_path / "lake"), "creator", endpoint, str(said)],
                  tmp_path / f"{name}.log", env=env)
    child.wait_until(f"the {name} writer stages its rows", said.exists, timeout=120)
    return child, Path(said.read_text())


def test_the_next_writer_of_a_dataset_removes_the_staging_of_killed_writes_but_never_a_running_ones(
        tmp_path, monkeypatch, caplog):
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    killed, killed_staging = _start_writer(tmp_path, "killed", "engagement")
    running, running_staging = _start_writer(tmp_path, "running", "engagement")
    other, other_staging = _start_writer(tmp_path, "other", "content")
    try:
        for child in (killed, other):
            os.kill(child.process.pid, signal.SIGKILL)
            child.process.wait()
        assert killed_staging.is_dir() and any(killed_staging.iterdir()), "the killed write staged nothing"
        assert killed_staging.name.startswith("bronze-creator-engagement.writing-")

        with caplog.at_level(logging.INFO, logger="pulse.lake_storage"):
            writer = BronzePartitionWriter(tmp_path / "lake", "creator", "engagement", date(2026, 12, 2))

        assert not killed_staging.exists()
        assert f"removed {killed_staging}" in caplog.text and "a write that was killed" in caplog.text
        assert running_staging.is_dir(), "the staging of a write still running was deleted"
        assert other_staging.is_dir(), "another dataset's staging is that input's to clean up"
        writer.abort()
        assert not writer.staging_path.exists()
    finally:
        for child in (killed, running, other):
            child.stop()
    BronzePartitionWriter(tmp_path / "lake", "creator", "engagement", date(2026, 12, 3)).abort()
    assert not running_staging.exists(), "once its writer is gone, its staging goes at the next run"


def test_a_committed_or_aborted_write_leaves_no_staging_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    writer = BronzePartitionWriter(tmp_path / "lake", "creator", "content", date(2026, 12, 1))
    writer.add_page(1, "https://api.example/v1/content", [{"n": 1}])
    writer.commit({"pages": 1})
    writer = BronzePartitionWriter(tmp_path / "lake", "creator", "content", date(2026, 12, 2))
    writer.abort()
    assert list((tmp_path / STAGING_ROOT).iterdir()) == []


def test_an_azure_lake_without_a_pulse_lake_connection_says_how_to_define_one(monkeypatch):
    from pulse.lake_storage import forget_resolved

    monkeypatch.delenv("AIRFLOW_CONN_PULSE_LAKE", raising=False)
    forget_resolved()
    with pytest.raises(LakeStorageError, match="no 'pulse_lake' connection is defined: set AIRFLOW_CONN_PULSE_LAKE"):
        lake_path("az://lake/pulse")
    assert isinstance(lake_path(Path("/x")), Path)
