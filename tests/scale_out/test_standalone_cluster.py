"""The standalone cluster the e2e tests send Spark jobs to: it comes up from the pyspark wheel alone, its
worker joins the master with the resources asked for, and nothing of it outlives the block.

The pipelines' jobs themselves run on it in the e2e tests (tests/e2e), whose gold must equal the
``local[*]`` run's."""

from __future__ import annotations

import socket

import pytest

from tests.scale_out.cluster import standalone_cluster

pytestmark = pytest.mark.spark


def accepts_connections(url: str) -> bool:
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def test_a_worker_joins_the_master_with_its_cores_and_memory_and_both_stop_when_the_block_ends(tmp_path):
    with standalone_cluster(tmp_path / "cluster", cores=1, memory="512m") as cluster:
        connection = cluster.connection()
        assert f"{connection['host']}:{connection['port']}" == cluster.master_url
        [worker] = cluster.state()["workers"]
        assert (worker["state"], worker["cores"], worker["memory"]) == ("ALIVE", 1, 512)
        assert accepts_connections(cluster.master_url)
    assert not accepts_connections(cluster.master_url), "the master still listens after the block ended"
    assert not accepts_connections(cluster.webui_url), "the master's web UI still answers after the block ended"
