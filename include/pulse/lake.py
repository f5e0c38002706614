"""The lake: zone paths and the bronze writer, for a local directory or Azure storage alike.

The lake root is a directory or an Azure URI (:mod:`pulse.lake_storage`). Paths here are
:class:`pathlib.Path` objects for a directory and universal-pathlib paths for Azure, with the same
interface.

A bronze partition is built in a staging directory and published whole, so a reader (or the silver
job) never sees half a partition, and rerunning a run date replaces its partition instead of adding
to it. On a local lake the staging directory sits beside the partition and is swapped in by renames.
Names starting with ``.`` are ignored by Spark's partition discovery, which keeps the in-progress and
the outgoing copies invisible. On Azure each file replaces its blob in one upload, and the manifest
goes last (see :func:`pulse.lake_storage.publish_directory`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from pulse.lake_storage import arrow_source, lake_path, publish_directory, replace_directory, staging_directory

if TYPE_CHECKING:
    from pulse.lake_storage import LakePath

__all__ = ["BRONZE_SCHEMA", "MANIFEST_NAME", "BronzePartitionWriter", "bronze_partition_path", "read_bronze",
           "read_manifest", "replace_directory", "zone_path"]

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
    """Writes one bronze partition, made visible only by :meth:`commit`.

    Records arrive page by page; they are buffered into row groups of ``rows_per_group`` rows and
    streamed to a Parquet file, so memory stays flat however many pages an endpoint has.
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
        self.final_path = bronze_partition_path(self.lake_root, self.source, self.endpoint, self.run_date,
                                                self.partition)
        self.staging_path = staging_directory(self.final_path)

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
            self._writer = pq.ParquetWriter(self.staging_path / "part-00000.parquet", BRONZE_SCHEMA,
                                            compression="zstd")
        self._writer.write_table(table)
        self._buffer = {n: [] for n in BRONZE_SCHEMA.names}

    def commit(self, manifest: dict) -> LakePath:
        """Close the file, write the manifest and publish the partition whole."""
        self._flush()
        if self._writer is None:  # an empty window still gets a (schema-only) file
            pq.write_table(BRONZE_SCHEMA.empty_table(), self.staging_path / "part-00000.parquet")
        else:
            self._writer.close()
        manifest = {**manifest, "pages": self.pages, "records": self.records}
        (self.staging_path / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str))
        publish_directory(self.staging_path, self.final_path)
        return self.final_path

    def abort(self) -> None:
        """Drop what was written; the partition that was there stays as it was."""
        if self._writer is not None:
            self._writer.close()
        shutil.rmtree(self.staging_path, ignore_errors=True)


def read_manifest(partition: LakePath) -> dict:
    """The ingest manifest of a bronze partition."""
    return json.loads((partition / MANIFEST_NAME).read_text())


def read_bronze(partition: LakePath, columns: Sequence[str] | None = None) -> pa.Table:
    """The rows of a bronze partition (or of every partition below a directory)."""
    source, filesystem = arrow_source(partition)
    return pq.read_table(source, columns=list(columns) if columns else None, filesystem=filesystem)
