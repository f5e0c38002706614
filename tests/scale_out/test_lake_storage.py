"""Where the lake lives, as Pulse reads the setting: a directory, a file:// URI or an Azure URI, and what
Spark is given for each. (Azure itself, through Azurite, is in test_azure_lake.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pulse.lake_storage import (
    LakeStorageError,
    is_remote,
    lake_path,
    parse_azure_uri,
    publish_directory,
    spark_uri,
    staging_directory,
)


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


def test_publishing_a_local_directory_replaces_what_was_there_whole(tmp_path):
    final = tmp_path / "bronze" / "run_date=2026-11-20"
    final.mkdir(parents=True)
    (final / "part-00000.parquet").write_text("old")
    (final / "part-00001.parquet").write_text("old, and not in the new set")
    staging = staging_directory(final)
    assert staging.parent == final.parent and staging.name.startswith(".")
    (staging / "part-00000.parquet").write_text("new")
    publish_directory(staging, final)
    assert sorted(os.listdir(final)) == ["part-00000.parquet"]
    assert (final / "part-00000.parquet").read_text() == "new"
    assert sorted(p.name for p in final.parent.iterdir()) == [final.name], "a staging or outgoing copy was left"


def test_an_azure_lake_without_a_pulse_lake_connection_says_how_to_define_one(monkeypatch):
    from pulse.lake_storage import forget_resolved

    monkeypatch.delenv("AIRFLOW_CONN_PULSE_LAKE", raising=False)
    forget_resolved()
    with pytest.raises(LakeStorageError, match="no 'pulse_lake' connection is defined: set AIRFLOW_CONN_PULSE_LAKE"):
        lake_path("az://lake/pulse")
    assert isinstance(lake_path(Path("/x")), Path)
