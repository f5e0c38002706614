"""Azurite, Microsoft's Azure Storage emulator, on localhost: the blob service the Azure-lake tests write to.

Azurite comes from the npm registry, installed once into ``$PULSE_HOME/tools/azurite`` (never globally).
It serves one storage account, ``pulselake``, with a key made up for the session, on a free port and in
memory. It emulates Blob storage only (no ``dfs`` endpoint), so the Python side's tests use ``az://`` URIs
through adlfs, and Spark's use ``abfs://`` in Blob mode (``pulse.lake_storage.spark_hadoop_conf``).
"""

from __future__ import annotations

import base64
import fcntl
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pulse.config import pulse_home
from tests.processes import free_port, start

AZURITE_VERSION = "3.35.0"
ACCOUNT = "pulselake"


class AzuriteUnavailable(RuntimeError):
    """Azurite cannot be installed or started here; the message says why."""


def azurite_blob_command(tools: Path | None = None) -> Path:
    """The ``azurite-blob`` executable, installed with npm into ``tools`` (default
    ``$PULSE_HOME/tools/azurite``) the first time. The install holds a lock file beside ``tools``: two test
    workers that need Azurite at once install it once (two npm installs into one folder fail, ENOTEMPTY)."""
    tools = tools or pulse_home() / "tools" / "azurite"
    tools.parent.mkdir(parents=True, exist_ok=True)
    with open(tools.parent / "azurite.install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _installed_azurite_blob(tools)


def _installed_azurite_blob(tools: Path) -> Path:
    command = tools / "node_modules" / ".bin" / "azurite-blob"
    if command.exists():
        return command
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise AzuriteUnavailable("Node.js and npm are not installed: Azurite comes from the npm registry "
                                 "(Debian/Ubuntu: apt-get install nodejs npm)")
    tools.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(tools), "--no-audit", "--no-fund", "--loglevel=error",
                           f"azurite@{AZURITE_VERSION}"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not command.exists():
        raise AzuriteUnavailable(f"`npm install azurite@{AZURITE_VERSION}` into {tools} failed "
                                 f"(is the npm registry reachable?): {(done.stderr or done.stdout)[-1500:]}")
    return command


@dataclass(frozen=True)
class Azurite:
    blob_endpoint: str
    account: str
    key: str

    def connection_string(self, key: str | None = None) -> str:
        """A connection string with the account key (or another ``key``, to be refused)."""
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={key or self.key};"
                f"BlobEndpoint={self.blob_endpoint};")

    def sas_connection_string(self, container: str) -> str:
        """A connection string with a SAS token for ``container`` (read, write, delete, list; one hour)."""
        return f"BlobEndpoint={self.blob_endpoint};SharedAccessSignature={self.container_sas(container)}"

    def container_sas(self, container: str) -> str:
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return generate_container_sas(self.account, container, account_key=self.key,
                                      permission=ContainerSasPermissions(read=True, write=True, delete=True,
                                                                         list=True, add=True, create=True),
                                      expiry=datetime.now(UTC) + timedelta(hours=1))

    def lake_connection(self, connection_string: str) -> dict:
        """The ``pulse_lake`` connection, as an Airflow connection dict."""
        return {"conn_type": "wasb", "extra": {"connection_string": connection_string}}

    def create_container(self, name: str) -> None:
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(self.connection_string()).create_container(name)

    def blob_names(self, container: str, prefix: str = "") -> list[str]:
        from azure.storage.blob import BlobServiceClient

        client = BlobServiceClient.from_connection_string(self.connection_string()).get_container_client(container)
        return sorted(b.name for b in client.list_blobs(name_starts_with=prefix))


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running_azurite(workdir: Path) -> Iterator[Azurite]:
    """Azurite's blob service on a free port, in memory, with the account ``pulselake`` and a fresh
    random key; stopped however the block ends."""
    command = azurite_blob_command()
    workdir.mkdir(parents=True, exist_ok=True)
    key = base64.b64encode(os.urandom(64)).decode()
    port = free_port()
    env = {**os.environ, "AZURITE_ACCOUNTS": f"{ACCOUNT}:{key}"}
    azurite = start([str(command), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--skipApiVersionCheck",
                     "--loose", "--inMemoryPersistence"], workdir / "azurite.log", env=env, cwd=workdir)
    try:
        azurite.wait_until(f"Azurite on port {port}", lambda: _listening(port), timeout=60, every=0.2)
        yield Azurite(f"http://127.0.0.1:{port}/{ACCOUNT}", ACCOUNT, key)
    finally:
        azurite.stop(grace=10)
