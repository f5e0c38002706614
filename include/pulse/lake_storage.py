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
it runs unchanged on both.

Writers stage on this machine's disk, in folders they own by a lock (:func:`owned_staging_directory`);
the next writer of the same dataset deletes those of killed writes (:func:`remove_abandoned_staging`).

Secrets stay in the connection or a secrets backend. Before the file system is built, they are
registered with Airflow's log masker, and no error here contains them: an error names the account,
the container and the connection.
"""

from __future__ import annotations

import fcntl
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


def _lake_connection(location: AzureLocation, conn_id: str):
    """The connection ``conn_id``, its secrets registered with the log masker, or LakeStorageError
    saying how to define it."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # the SDK's not-found error type differs across versions
        raise LakeStorageError(
            f"{location.uri} is in Azure storage, but no {conn_id!r} connection is defined: set "
            f"AIRFLOW_CONN_{conn_id.upper()} or add it to the secrets backend (see README, 'Scaling out')"
        ) from exc
    _mask_credentials(conn.password, conn.extra_dejson)
    return conn


def _azure_path(location: AzureLocation, conn_id: str) -> UPath:
    from airflow.providers.microsoft.azure.fs.adls import get_fs
    from upath import UPath

    # azure-core logs every request at INFO; a task log needs none of them.
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
    conn = _lake_connection(location, conn_id)
    extras = conn.extra_dejson
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


# --- Spark's settings for the lake ---------------------------------------------------------------

# Azure AD's token endpoint for a service principal (ABFS asks for it; Azure's public cloud).
_AAD_TOKEN_ENDPOINT = "https://login.microsoftonline.com/{tenant}/oauth2/token"
_OAUTH = "org.apache.hadoop.fs.azurebfs.oauth2"  # hadoop-azure's token providers


# For every Azure lake: hadoop-azure 3.5.0 collects metrics of its own clients by default, and its read-footer
# metrics fail now and then with a NullPointerException inside a read (``AbfsReadFooterMetrics
# .haveEqualValues``) when two reads of one file race, which fails the Spark task reading it (seen in this
# suite's Azurite test, reading a Delta table's change data). Pulse reads nothing of those metrics.
ABFS_CLIENT_SETTINGS = {"fs.azure.metrics.collection.enabled": "false"}


def spark_hadoop_conf(lake_root: str, conn_id: str = LAKE_CONN_ID) -> dict[str, str]:
    """The ``spark.hadoop.*`` settings with which Spark's hadoop-azure (ABFS, the jars of ``make jars``)
    reads and writes the lake at ``lake_root`` using the credentials of the connection ``conn_id``, read
    the way the Azure provider's ``get_fs`` reads it. ``{}`` for a local lake.

    - Credentials, for the lake's account only (``fs.azure.account.*.<account>.dfs.core.windows.net``),
      the first the connection has of: an account key (the password without ``tenant_id``,
      ``account_key``, or a connection string's ``AccountKey``); a SAS token (``sas_token`` or
      ``SharedAccessSignature``), which hadoop-azure 3.5.0 takes as a fixed token
      (``fs.azure.sas.fixed.token``, auth type SAS: every request carries it, so it must allow what the
      jobs do, until it expires); a service principal (``tenant_id``, the client id as login and its
      secret as password) or a managed identity (``managed_identity_client_id``), both through OAuth.
      With none, none: the cluster's own settings apply (Databricks, HDInsight).
    - An endpoint of the connection's own (a connection string's ``BlobEndpoint``, the host, or
      ``account_host``), such as Azurite's ``http://127.0.0.1:10000/<account>``: ABFS is sent there and
      speaks the Blob API (flat namespace, no ``dfs`` endpoint needed), over plain http when the
      endpoint is http, which needs an ``abfs://`` lake URI (``abfss://`` always uses TLS).

    Reads the connection (after registering its secrets with Airflow's log masker): call it when a task
    runs, never while a DAG file is parsed. Raises LakeStorageError for a lake URI Spark cannot read.
    """
    if not is_remote(lake_root):
        return {}
    location = parse_azure_uri(lake_root)
    scheme, account_host = urlsplit(lake_root).scheme.lower(), urlsplit(lake_root).netloc.partition("@")[2]
    abfs_uri = "abfss://<container>@<account>.dfs.core.windows.net/<path>"
    if scheme in ("wasb", "wasbs"):
        raise LakeStorageError(f"Spark cannot read {lake_root}: WASB was removed in Hadoop 3.5, which Spark 4.2 "
                               f"bundles. Name the same container as {abfs_uri}")
    if scheme == "az" or ".dfs." not in account_host:
        raise LakeStorageError(f"Spark cannot read {lake_root}: hadoop-azure needs the account's dfs host, as in "
                               f"{abfs_uri} (Airflow's tasks read that form as well)")
    credentials = _abfs_credentials(_lake_connection(location, conn_id))
    if credentials.get("sas_token"):  # masked as the connection holds it, maybe with a leading "?"
        credentials["sas_token"] = credentials["sas_token"].lstrip("?")
        _mask_credentials(None, {"sas_token": credentials["sas_token"]})
    conf = {**_abfs_auth(account_host, credentials), **ABFS_CLIENT_SETTINGS}
    endpoint = urlsplit(credentials["endpoint"] or "")
    account, _, domain = account_host.partition(".dfs.")
    if endpoint.hostname and endpoint.hostname not in (f"{account}.blob.{domain}", account_host):
        # An emulator or a custom endpoint. These are read without an account suffix (always.use.https
        # only so), which is harmless: a job's only Azure account is the lake's.
        conf.update({"fs.azure.abfs.endpoint": endpoint.netloc, "fs.azure.account.hns.enabled": "false",
                     "fs.azure.fns.account.service.type": "BLOB"})
        if endpoint.scheme == "http":
            if scheme == "abfss":
                raise LakeStorageError(f"the {conn_id!r} connection's endpoint {endpoint.geturl()} is plain "
                                       f"http, which abfss:// never uses: name the lake abfs://… instead")
            # hadoop-azure 3.5.0's default HTTP client (Apache) fails on an http endpoint ("SSL socket
            # factory may not be null": it is built for https only); the JDK's client does not.
            conf.update({"fs.azure.always.use.https": "false",
                         "fs.azure.networking.library": "JDK_HTTP_URL_CONNECTION"})
    return {f"spark.hadoop.{key}": value for key, value in conf.items()}


def _abfs_credentials(conn: Any) -> dict[str, str | None]:
    """What the connection holds, as the provider's ``get_fs`` reads it: a connection string overrides the
    other fields; with ``tenant_id``, login and password are a service principal's, otherwise the
    password is an account key."""
    extras = conn.extra_dejson
    if extras.get("connection_string"):
        parts = {}
        for part in str(extras["connection_string"]).split(";"):
            name, _, value = part.partition("=")
            parts[name.strip().lower()] = value.strip() or None
        return {"account_key": parts.get("accountkey"), "sas_token": parts.get("sharedaccesssignature"),
                "endpoint": parts.get("blobendpoint")}
    principal = bool(extras.get("tenant_id"))
    host = conn.host or extras.get("account_host")
    return {"account_key": extras.get("account_key") or (None if principal else conn.password),
            "sas_token": extras.get("sas_token"), "tenant_id": extras.get("tenant_id"),
            "client_id": conn.login if principal else None, "client_secret": conn.password if principal else None,
            "managed_identity_client_id": extras.get("managed_identity_client_id"),
            "endpoint": host if not host or "://" in host else f"https://{host}"}


def _abfs_auth(account_host: str, credentials: dict[str, str | None]) -> dict[str, str]:
    """ABFS's settings for the first credential the connection has, each for ``account_host`` only."""
    key, sas, tenant = credentials.get("account_key"), credentials.get("sas_token"), credentials.get("tenant_id")
    client_id, client_secret = credentials.get("client_id"), credentials.get("client_secret")
    identity = credentials.get("managed_identity_client_id")
    auth = "fs.azure.account.auth.type"
    if key:
        settings = {auth: "SharedKey", "fs.azure.account.key": key}
    elif sas:
        settings = {auth: "SAS", "fs.azure.sas.fixed.token": sas}
    elif client_id and client_secret:
        settings = {auth: "OAuth", "fs.azure.account.oauth.provider.type": f"{_OAUTH}.ClientCredsTokenProvider",
                    "fs.azure.account.oauth2.client.endpoint": _AAD_TOKEN_ENDPOINT.format(tenant=tenant),
                    "fs.azure.account.oauth2.client.id": client_id,
                    "fs.azure.account.oauth2.client.secret": client_secret}
    elif identity:
        settings = {auth: "OAuth", "fs.azure.account.oauth.provider.type": f"{_OAUTH}.MsiTokenProvider",
                    "fs.azure.account.oauth2.client.id": identity, "fs.azure.account.oauth2.msi.tenant": tenant}
    else:
        settings = {}
    return {f"{name}.{account_host}": value for name, value in settings.items() if value}


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


# --- staging folders -------------------------------------------------------------------------------

STAGING_ROOT = "pulse-staging"
"""The folder, in this machine's temporary directory, that holds the writers' staging folders."""
_STAGING_MARK = ".writing-"
_owned: dict[Path, int] = {}


def staging_parent() -> Path:
    """Where staging folders are made: ``<temporary directory>/pulse-staging`` (``TMPDIR``)."""
    return Path(tempfile.gettempdir()) / STAGING_ROOT


def owned_staging_directory(name: str, parent: Path | None = None) -> Path:
    """A new, empty local folder ``<parent>/<name>.writing-<8 hex>`` that this process owns until
    :func:`release_staging_directory` or its end (a kill included).

    Owning is an exclusive ``flock`` on the folder, taken while it still has a ``.creating-`` name and
    kept until released. The kernel drops the lock when the process dies, however it dies, so a
    ``.writing-`` folder whose lock can be taken has no live writer (:func:`remove_abandoned_staging`)."""
    parent = parent or staging_parent()
    parent.mkdir(parents=True, exist_ok=True)
    creating = Path(tempfile.mkdtemp(prefix=f"{name}.creating-", dir=parent))
    fd = os.open(creating, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a folder only this process knows: never blocks
    staging = parent / f"{name}{_STAGING_MARK}{uuid.uuid4().hex[:8]}"
    creating.rename(staging)
    _owned[staging] = fd
    return staging


def release_staging_directory(staging: Path) -> None:
    """Delete a folder made by :func:`owned_staging_directory`, then give up owning it."""
    shutil.rmtree(staging, ignore_errors=True)
    fd = _owned.pop(staging, None)
    if fd is not None:
        os.close(fd)


def remove_abandoned_staging(name: str, parent: Path | None = None) -> list[Path]:
    """Delete the ``<name>.writing-*`` folders under ``parent`` that no live process owns (see
    :func:`owned_staging_directory`): those of writes that were killed. A folder whose lock is held,
    a write still running in this or another process, is left alone. Logs one line per folder
    deleted; returns them."""
    parent = parent or staging_parent()
    if not parent.is_dir():
        return []
    removed = []
    for folder in sorted(parent.glob(f"{name}{_STAGING_MARK}*")):
        if folder in _owned or folder.is_symlink() or not folder.is_dir():
            continue
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue  # gone meanwhile, or not ours to open
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its writer is alive
        else:
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
            log.info("removed %s (%d bytes): the staging folder of a write that was killed (no process holds it)",
                     folder, size)
        finally:
            os.close(fd)
    return removed


def move_file(source: LakePath, target: LakePath) -> None:
    """Move a file (a symbolic link: the link itself) within a local directory tree or within Azure
    storage, to a ``target`` that does not exist yet.

    Azure's server-side copy may still be running when it returns, and deleting the source then
    would lose the file. So the bytes are streamed through this process: the upload commits on
    close, and only after that is the source deleted."""
    if isinstance(source, Path) and isinstance(target, Path):
        if os.path.lexists(target):  # shutil.move would move into a folder (or a link's target) there
            raise FileExistsError(f"{target} exists: a file is never moved onto or into it")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)  # a link is moved as a link
        return
    with source.open("rb") as reader, target.open("wb") as writer:
        _copy_stream(reader, writer)
    source.unlink()


def _copy_stream(reader: BinaryIO, writer: BinaryIO) -> None:
    while block := reader.read(_COPY_BLOCK):
        writer.write(block)
