"""The lake: zone paths and the bronze writer, for a local directory or Azure storage alike.

The lake root is a directory or an Azure URI (:mod:`pulse.lake_storage`). Paths here are
:class:`pathlib.Path` objects for a directory and universal-pathlib paths for Azure, with the same
interface.

Each bronze dataset (``bronze/<source>/<dataset>``) is a Delta table, partitioned Hive-style by
``run_date`` and/or the dataset's own keys (``listener``, ``export``). A partition is written in one
Delta commit that replaces that partition's rows (an overwrite with a predicate, delta-rs'
``replaceWhere``): a reader, the silver job included, sees the partition before or after, never half of
it, a rerun of a run date replaces its rows instead of adding to them, and a failure leaves the previous
version. The rows are first streamed to a local Parquet file, so memory stays flat however many pages an
endpoint has, then streamed into the commit.

After the commit, the ingest's manifest (``_manifest.json``: the answers the API gave, pages, records) is
written into the partition's folder; Delta and Spark ignore ``_`` files. A commit whose manifest was never
written (the process died in between) is simply done again by the next run.

Written by ``deltalake`` (delta-rs) from Airflow's tasks, read by Spark's Delta reader: the tables keep
reader version 1 / writer version 2 and time-zone-aware timestamps (a ``timestampNtz`` column would need
a protocol Spark's readers of older versions refuse).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from pulse.lake_storage import (
    delta_location,
    delta_table,
    lake_path,
    owned_staging_directory,
    release_staging_directory,
    remove_abandoned_staging,
)

if TYPE_CHECKING:
    from pulse.lake_storage import LakePath

__all__ = ["BRONZE_SCHEMA", "MANIFEST_NAME", "BronzePartitionWriter", "bronze_partition_path", "read_bronze",
           "read_manifest", "zone_path"]

DELTA_LOG = "_delta_log"

BRONZE_SCHEMA = pa.schema(
    [
        pa.field("payload", pa.string(), nullable=False),
        pa.field("record_index", pa.int64(), nullable=False),
        pa.field("page", pa.int32(), nullable=False),
        pa.field("request_url", pa.string(), nullable=False),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("endpoint", pa.string(), nullable=False),
    ]
)

MANIFEST_NAME = "_manifest.json"


def zone_path(lake_root: str | os.PathLike, zone: str, source: str, dataset: str | None = None) -> LakePath:
    """``<lake>/<zone>/<source>[/<dataset>]``."""
    path = lake_path(lake_root) / zone / source
    return path / dataset if dataset else path


def bronze_partition_path(lake_root: str | os.PathLike, source: str, endpoint: str, run_date: date | None = None,
                          partition: Sequence[tuple[str, str]] = ()) -> LakePath:
    """The directory holding one bronze partition of one endpoint (or dataset).

    The partition is Hive-style, so Spark reads each key as a column: ``run_date=<ds>`` by default,
    preceded by ``partition`` keys (e.g. ``listener=<name>``); ``run_date`` may be None when the
    partition keys alone name it (e.g. ``listener=<name>/export=<hash>`` for a dropped file)."""
    path = zone_path(lake_root, "bronze", source, endpoint)
    for key, value in partition:
        path = path / f"{key}={value}"
    return path / f"run_date={run_date.isoformat()}" if run_date is not None else path


_ENCODER = msgspec.json.Encoder()


def record_json(record: object) -> str:
    """A record as compact JSON text, non-ASCII kept: msgspec, several times faster than the standard
    library (it writes a non-finite float, which JSON cannot hold, as null); what it cannot encode goes
    through json."""
    try:
        return _ENCODER.encode(record).decode()
    except (msgspec.MsgspecError, OverflowError, TypeError):
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


@dataclass
class BronzePartitionWriter:
    """Writes one bronze partition of a Delta table, made visible only by :meth:`commit`.

    Records arrive page by page; they are buffered into row groups of ``rows_per_group`` rows and
    streamed to a local Parquet file, which :meth:`commit` streams into one Delta commit.
    """

    lake_root: str | os.PathLike
    source: str
    endpoint: str
    run_date: date | None
    partition: Sequence[tuple[str, str]] = ()
    rows_per_group: int = 50_000
    pages: int = 0
    records: int = 0
    _buffer: dict[str, list] = field(default_factory=lambda: {n: [] for n in BRONZE_SCHEMA.names})
    _writer: pq.ParquetWriter | None = None

    def __post_init__(self) -> None:
        self.table_path = zone_path(self.lake_root, "bronze", self.source, self.endpoint)
        self.final_path = bronze_partition_path(self.lake_root, self.source, self.endpoint, self.run_date,
                                                self.partition)
        self.partition_values = [*self.partition, *((("run_date", self.run_date.isoformat()),)
                                                    if self.run_date is not None else ())]
        # Rows are staged on this machine's disk. A killed ingest leaves its folder behind; the next
        # writer of the dataset deletes those no live process owns (pulse.lake_storage).
        staging_name = f"bronze-{self.source}-{self.endpoint}"
        remove_abandoned_staging(staging_name)
        self.staging_path = owned_staging_directory(staging_name)

    def add_page(self, page: int, request_url: str, records: Iterable[dict]) -> int:
        """Buffer one page of raw records; returns how many it held."""
        ingested_at = datetime.now(UTC)
        count = 0
        buf = self._buffer
        for record in records:
            buf["payload"].append(record_json(record))
            buf["record_index"].append(self.records + count)
            buf["page"].append(page)
            buf["request_url"].append(request_url)
            buf["ingested_at"].append(ingested_at)
            count += 1
        buf["source"].extend([self.source] * count)
        buf["endpoint"].extend([self.endpoint] * count)
        self.records += count
        self.pages += 1
        if len(buf["payload"]) >= self.rows_per_group:
            self._flush()
        return count

    def _flush(self) -> None:
        if not self._buffer["payload"]:
            return
        table = pa.table(self._buffer, schema=BRONZE_SCHEMA)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.staging_path / "rows.parquet", BRONZE_SCHEMA)
        self._writer.write_table(table)
        self._buffer = {n: [] for n in BRONZE_SCHEMA.names}

    def commit(self, manifest: dict) -> LakePath:
        """Replace the partition's rows in one Delta commit, then write the manifest beside them."""
        from deltalake import CommitProperties, write_deltalake

        self._flush()
        if self._writer is not None:
            self._writer.close()
        uri, options = delta_location(self.table_path)
        schema = bronze_table_schema([k for k, _ in self.partition_values])
        write_deltalake(
            uri, pa.RecordBatchReader.from_batches(schema, self._batches(schema)), mode="overwrite",
            predicate=partition_predicate(self.partition_values), partition_by=[k for k, _ in self.partition_values],
            storage_options=options,
            commit_properties=CommitProperties(custom_metadata={
                "pulse.partition": "/".join(f"{k}={v}" for k, v in self.partition_values),
                "pulse.records": str(self.records)}),
        )
        manifest = {**manifest, "pages": self.pages, "records": self.records}
        self.final_path.mkdir(parents=True, exist_ok=True)
        (self.final_path / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str))
        release_staging_directory(self.staging_path)
        return self.final_path

    def _batches(self, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        staged = self.staging_path / "rows.parquet"
        if not staged.exists():
            return
        for batch in pq.ParquetFile(staged).iter_batches(batch_size=self.rows_per_group):
            columns = list(batch.columns)
            for name, value in self.partition_values:
                kind = schema.field(name).type
                columns.append(pa.array([date.fromisoformat(value) if kind == pa.date32() else value]
                                        * batch.num_rows, kind))
            yield pa.RecordBatch.from_arrays(columns, schema=schema)

    def abort(self) -> None:
        """Drop what was written; the partition that was there stays as it was."""
        if self._writer is not None:
            self._writer.close()
        release_staging_directory(self.staging_path)


def bronze_table_schema(partition_keys: Sequence[str]) -> pa.Schema:
    """A bronze Delta table's columns: :data:`BRONZE_SCHEMA`, then its partition keys (``run_date`` a date,
    the others strings)."""
    return pa.schema([*BRONZE_SCHEMA, *(pa.field(k, pa.date32() if k == "run_date" else pa.string(), nullable=False)
                                        for k in partition_keys)])


def partition_predicate(values: Sequence[tuple[str, str]]) -> str:
    """The SQL predicate that selects one partition (``run_date`` compared as a date)."""
    def literal(key: str, value: str) -> str:
        quoted = "'" + value.replace("'", "''") + "'"
        return f"CAST({quoted} AS DATE)" if key == "run_date" else quoted

    return " AND ".join(f'"{k}" = {literal(k, v)}' for k, v in values)


def read_manifest(partition: LakePath) -> dict:
    """The ingest manifest of a bronze partition."""
    return json.loads((partition / MANIFEST_NAME).read_text())


def read_bronze(partition: LakePath, columns: Sequence[str] | None = None) -> pa.Table:
    """The rows of a bronze partition, or of every partition below a folder of a bronze table (the
    table itself included), as its current Delta version holds them."""
    table_root, filters = partition, []
    while not (table_root / DELTA_LOG).is_dir():
        key, sep, value = table_root.name.partition("=")
        if not sep or table_root.parent == table_root:
            raise FileNotFoundError(f"{partition} is not in a bronze Delta table (no {DELTA_LOG} above it)")
        filters.insert(0, (key, "=", date.fromisoformat(value) if key == "run_date" else value))
        table_root = table_root.parent
    table = delta_table(table_root, what=f"bronze table {table_root}")
    return table.to_pyarrow_table(filters=filters or None, columns=list(columns) if columns else None)
