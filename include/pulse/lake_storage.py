"""Where the lake and the file inboxes live: a local directory, or Azure storage (ADLS Gen2 or Blob).

``PULSE_LAKE_ROOT`` and ``PULSE_<SOURCE>_INBOX`` each hold a local directory or an Azure URI:

- ``abfss://<container>@<account>.dfs.core.windows.net/<prefix>`` (or ``abfs://``): the form Spark's
  hadoop-azure reads as well, so one value serves Airflow's tasks and the Spark jobs;
- ``wasbs://<container>@<account>.blob.core.windows.net/<prefix>`` (or ``wasb://``): Blob storage without
  a hierarchical namespace, as hadoop-azure names it;
- ``az://<container>/<prefix>``: adlfs' short form, where the connection names the account.

:func:`lake_path` turns either into an object with pathlib's interface: a :class:`pathlib.Path` for a
directory, or a universal-pathlib path on ``adlfs`` for Azure. The Airflow connection ``pulse_lake``
holds the credentials: an account key, a SAS token, a service principal, a managed identity or a
connection string. The Microsoft Azure provider's ``get_fs`` reads that connection, the same way it
does for Airflow's object storage. Code that reads and writes the lake uses the pathlib interface, so
it runs unchanged on both. Only publishing a directory differs between the two (see
:func:`publish_directory`), because blob storage cannot rename a directory.

Secrets stay in the connection or a secrets backend. Before the file system is built, they are
registered with Airflow's log masker, and no error here contains them: an error names the account,
the container and the connection.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from upath import UPath

    LakePath = Path | UPath

log = logging.getLogger(__name__)

LAKE_CONN_ID = "pulse_lake"
AZURE_SCHEMES = frozenset({"abfs", "abfss", "az", "wasb", "wasbs"})
_COPY_BLOCK = 4 << 20


class LakeStorageError(RuntimeError):
    """The lake's storage cannot be used. The message names the account, the container and the
    connection, never a secret, and says what to do next."""


@dataclass(frozen=True)
class AzureLocation:
    """A place in Azure storage: container, account (None when the connection names it) and the
    path inside the container."""

    uri: str
    container: str
    account: str | None
    prefix: str

    @property
    def fsspec_url(self) -> str:
        """The same place as adlfs names it: ``abfs://<container>/<prefix>``."""
        return f"abfs://{self.container}/{self.prefix}".rstrip("/")

    def describe(self, account: str | None = None) -> str:
        return f"container {self.container!r} of storage account {(self.account or account or '?')!r}"


def is_remote(location: str | os.PathLike) -> bool:
    """True when ``location`` is in Azure storage, given either as a URI or as a path object."""
    if isinstance(location, Path):
        return False
    if hasattr(location, "fs") and hasattr(location, "protocol"):
        return True
    return urlsplit(str(location)).scheme.lower() in AZURE_SCHEMES


def parse_azure_uri(uri: str) -> AzureLocation:
    """Split ``abfss://<container>@<account>.dfs.core.windows.net/<prefix>``, ``abfs://…``, ``wasbs://…`` or
    ``az://<container>/<prefix>`` into an :class:`AzureLocation`."""
    parts = urlsplit(uri)
    if parts.scheme.lower() not in AZURE_SCHEMES:
        raise LakeStorageError(f"{uri} is not an Azure storage URI: use abfss://<container>@<account>"
                               ".dfs.core.windows.net/<path> or az://<container>/<path>")
    container, _, host = parts.netloc.partition("@")
    account = (host.split(".", 1)[0] or None) if host else None
    if not container:
        raise LakeStorageError(f"{uri} names no container: use abfss://<container>@<account>"
                               ".dfs.core.windows.net/<path> or az://<container>/<path>")
    return AzureLocation(uri=uri, container=container, account=account, prefix=parts.path.strip("/"))


def spark_uri(location: str | os.PathLike) -> str:
    """``location`` as a URI for Spark. A local directory becomes an absolute ``file://`` URI, so
    neither the driver's working directory nor the cluster's default file system (HDFS on YARN)
    changes its meaning. A remote URI stays as it is."""
    text = str(location)
    if "://" in text:
        return text
    return f"file://{Path(text).resolve()}"


# --- resolving a location -------------------------------------------------------------------------

_resolved: dict[tuple[str, str], Any] = {}


def forget_resolved() -> None:
    """Drop the file systems resolved so far, so the next call reads the connections again. A task
    process never needs this; a test that changes a connection in-process does."""
    _resolved.clear()


def lake_path(location: str | os.PathLike, conn_id: str = LAKE_CONN_ID) -> LakePath:
    """A path object for ``location``: a :class:`~pathlib.Path` for a directory (a ``file://`` URI
    included), or a universal-pathlib path on adlfs for an Azure URI. The credentials come from the
    connection ``conn_id``. The first time a process resolves an Azure location, it lists the container:
    a missing container, refused credentials or an unreachable account raise :class:`LakeStorageError`
    at once, before anything is fetched or written. A path object passes through unchanged."""
    if isinstance(location, Path) or (not isinstance(location, str) and is_remote(location)):
        return location
    text = os.fspath(location)
    scheme = urlsplit(text).scheme.lower()
    if scheme == "file":
        return Path(urlsplit(text).path)
    if scheme not in AZURE_SCHEMES:
        return Path(text)
    key = (text, conn_id)
    if key not in _resolved:
        _resolved[key] = _azure_path(parse_azure_uri(text), conn_id)
    return _resolved[key]


def _connection_account(extras: dict[str, Any]) -> str | None:
    for part in str(extras.get("connection_string") or "").split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "accountname":
            return value.strip()
    return extras.get("account_name")


def _mask_credentials(password: str | None, extras: dict[str, Any]) -> None:
    """Register every credential of the connection with Airflow's log masker (it masks the password
    and fields such as ``connection_string`` or ``sas_token`` itself, but not ``account_key``, nor the
    key inside a connection string when it shows up on its own)."""
    from airflow.sdk.log import mask_secret

    secrets = [password, extras.get("account_key"), extras.get("sas_token"), extras.get("connection_string")]
    for part in str(extras.get("connection_string") or "").split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() in ("accountkey", "sharedaccesssignature"):
            secrets.append(value.strip())
    for secret in secrets:
        if secret:
            mask_secret(str(secret))


def _azure_path(location: AzureLocation, conn_id: str) -> UPath:
    from airflow.providers.microsoft.azure.fs.adls import get_fs
    from airflow.sdk import BaseHook
    from upath import UPath

    # azure-core logs every request at INFO; a task log needs none of them.
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # the SDK's not-found error type differs across versions
        raise LakeStorageError(
            f"{location.uri} is in Azure storage, but no {conn_id!r} connection is defined: set "
            f"AIRFLOW_CONN_{conn_id.upper()} or add it to the secrets backend (see README, 'Scaling out')"
        ) from exc
    extras = conn.extra_dejson
    _mask_credentials(conn.password, extras)
    account = location.account or _connection_account(extras) or (None if extras.get("tenant_id") else conn.login)
    options = {"account_name": account} if account and not extras.get("account_name") else {}
    try:
        fs = get_fs(conn_id, options)
    except ValueError as exc:
        raise LakeStorageError(
            f"the {conn_id!r} connection cannot open {location.describe(account)}: it needs an account key, "
            f"a SAS token, a service principal or a connection string (see README, 'Scaling out') ({exc})"
        ) from None
    _check_container(fs, location, account, conn_id)
    return UPath(location.fsspec_url, **fs.storage_options)


def _check_container(fs: Any, location: AzureLocation, account: str | None, conn_id: str) -> None:
    """List the container once: it proves that the container exists and that the credentials may
    list it. The lake needs to list anyway, to replace partitions and find files."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError

    where = location.describe(account)
    try:
        fs.ls(location.container, refresh=True)
    except FileNotFoundError:
        raise LakeStorageError(
            f"{where} does not exist (for {location.uri}). Create it, e.g. `az storage container create "
            f"--account-name {location.account or account} --name {location.container}`, or correct the URI"
        ) from None
    except HttpResponseError as exc:
        status = getattr(exc, "status_code", None)
        code = getattr(exc, "error_code", None) or getattr(exc, "reason", None) or "error"
        code = getattr(code, "value", code)
        if status in (401, 403):
            raise LakeStorageError(
                f"{where} refused the credentials of the {conn_id!r} connection ({status} {code}). Check "
                "its account key, SAS token or service principal: the lake needs read, write, delete and "
                "list on the container"
            ) from None
        if status is None:  # raised before any answer, e.g. a key that is not valid base64
            raise LakeStorageError(
                f"{where} could not be listed with the credentials of the {conn_id!r} connection "
                f"({type(exc).__name__}): check its account key, SAS token or service principal"
            ) from None
        raise LakeStorageError(f"{where} answered {status} {code} to a listing (for {location.uri})") from None
    except ServiceRequestError as exc:
        raise LakeStorageError(
            f"{where} cannot be reached ({type(exc).__name__}): check the account name and the "
            f"{conn_id!r} connection's endpoint"
        ) from None


# --- reading and writing --------------------------------------------------------------------------

def arrow_source(path: LakePath) -> tuple[str, Any]:
    """``(path, filesystem)`` for pyarrow's readers. The file system is None for a local path,
    which pyarrow opens itself, and the path's fsspec file system otherwise."""
    if isinstance(path, Path):
        return str(path), None
    return path.path, path.fs


def delta_location(path: LakePath) -> tuple[str, dict[str, str]]:
    """``(table URI, storage options)`` for ``deltalake`` (delta-rs, whose Azure client is Rust's
    object_store, not adlfs): a local path as it is, or an Azure path as ``az://<container>/<path>`` with
    the credentials and endpoint of the file system :func:`lake_path` resolved from the connection
    (account key, SAS token, service principal, or a connection string's parts). With none of them,
    object_store falls back to the machine's managed identity."""
    if isinstance(path, Path):
        return str(path), {}
    fs_options = {k: v for k, v in dict(getattr(path.fs, "storage_options", {}) or {}).items() if v}
    parts = {}
    for part in str(fs_options.get("connection_string") or "").split(";"):
        name, _, value = part.partition("=")
        if value:
            parts[name.strip().lower()] = value.strip()
    options = {
        "account_name": fs_options.get("account_name") or parts.get("accountname"),
        "account_key": fs_options.get("account_key") or parts.get("accountkey"),
        "sas_token": (fs_options.get("sas_token") or parts.get("sharedaccesssignature") or "").lstrip("?"),
        "client_id": fs_options.get("client_id"),
        "client_secret": fs_options.get("client_secret"),
        "tenant_id": fs_options.get("tenant_id"),
    }
    endpoint = parts.get("blobendpoint") or (f"https://{fs_options['account_host']}"
                                             if fs_options.get("account_host") else None)
    if endpoint:
        options["endpoint"] = endpoint.rstrip("/")
        if endpoint.startswith("http://"):  # an emulator (Azurite), or a private endpoint without TLS
            options["allow_http"] = "true"
    if not options["account_name"] and endpoint:
        options["account_name"] = urlsplit(endpoint).path.strip("/").split("/")[0] or None
    return f"az://{path.path.strip('/')}", {k: v for k, v in options.items() if v}


def delta_table(path: LakePath, what: str, hint: str = ""):
    """The Delta table at ``path`` (``deltalake``, no JVM), local or in Azure storage, or
    FileNotFoundError naming ``what``."""
    from deltalake import DeltaTable

    uri, options = delta_location(path)
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        raise FileNotFoundError(f"{what} is not a Delta table (no _delta_log){': ' + hint if hint else ''}")
    return DeltaTable(uri, storage_options=options)


def staging_directory(final: LakePath) -> Path:
    """A new local directory in which to build what will become ``final``. For a local lake it sits
    beside ``final``, hidden by a leading ``.`` from Spark's partition discovery, so publishing it
    is a rename. For Azure it is a temporary directory on this machine."""
    if isinstance(final, Path):
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = final.parent / f".{final.name}.writing-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        return staging
    return Path(tempfile.mkdtemp(prefix=f"pulse-{final.name}-"))


def publish_directory(staging: Path, final: LakePath) -> None:
    """Make ``final`` hold exactly the files of ``staging``, which was built by
    :func:`staging_directory`, so that a reader sees either the old set of files or the new one.

    - Local: two renames. The old directory is moved aside, the new one moved in, and the old one
      deleted.
    - Azure: blob storage has no directory rename (a "move" copies and deletes blob by blob). Each
      file is uploaded to its final name instead. An upload replaces a blob atomically: the service
      commits the new content whole, and readers see the old blob until then. Data files go first.
      Names starting with ``_`` (the manifest) go last, so a manifest means the data beside it is
      complete. Blobs under ``final`` that the new set does not have are deleted afterwards. A
      partition is one data file plus its manifest, so a reader sees either the old data file or
      the new one. A process killed between the two uploads leaves the new data with the old
      manifest (or none): the rerun rewrites both.
    """
    if isinstance(final, Path):
        replace_directory(staging, final)
        return
    files = sorted((p for p in staging.iterdir()), key=lambda p: (p.name.startswith("_"), p.name))
    if any(p.is_dir() for p in files):
        raise ValueError(f"{staging} holds a directory: only flat directories are published")
    fs = final.fs
    for file in files:
        fs.put_file(str(file), (final / file.name).path)
    keep = {(final / file.name).path for file in files}
    stale = [name for name in fs.find(final.path) if name not in keep]
    if stale:
        fs.rm(stale)
    shutil.rmtree(staging, ignore_errors=True)


def replace_directory(new: Path, final: Path) -> None:
    """Put ``new`` at ``final``, replacing what was there by two renames (no moment without data
    for longer than between them, and never a mix of old and new files)."""
    outgoing = final.parent / f".{final.name}.replaced-{uuid.uuid4().hex[:8]}"
    if final.exists():
        final.rename(outgoing)
    new.rename(final)
    shutil.rmtree(outgoing, ignore_errors=True)


def move_file(source: LakePath, target: LakePath) -> None:
    """Move a file within a local directory tree or within Azure storage.

    Azure's server-side copy may still be running when it returns, and deleting the source then
    would lose the file. So the bytes are streamed through this process: the upload commits on
    close, and only after that is the source deleted."""
    if isinstance(source, Path) and isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)
        return
    with source.open("rb") as reader, target.open("wb") as writer:
        _copy_stream(reader, writer)
    source.unlink()


def _copy_stream(reader: BinaryIO, writer: BinaryIO) -> None:
    while block := reader.read(_COPY_BLOCK):
        writer.write(block)
