"""Loading gold into PostgreSQL: COPY into a staging schema, then publish atomically.

The load is two steps with the quality gate between them:

1. :func:`stage_gold` creates ``staging_<source>`` afresh and fills one table per gold dataset with
   ``COPY … FROM STDIN (FORMAT csv)``, fed by Arrow's CSV writer straight from one version of the gold
   Delta table (no Python loop per row). The versions it read go in ``staging_<source>.lake_versions``.
   Nothing a reader sees has changed yet.
2. :func:`publish_gold` swaps the staged tables into schema ``gold`` in one transaction: primary keys
   are added, the old tables dropped, the new ones moved in, the source's reporting views recreated
   and the publish recorded in ``pulse_meta.publish_log``, with the Delta version of each lake table it
   came from (what :mod:`pulse.time_travel` lists and rolls back to). A reader sees all of the old
   tables or all of the new ones; PostgreSQL's transactional DDL makes the swap atomic, and the old
   tables stay in place if anything fails.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
from psycopg import Connection, sql

log = logging.getLogger(__name__)

GOLD_SCHEMA = "gold"
META_SCHEMA = "pulse_meta"


def staging_schema(source: str) -> str:
    return f"staging_{source}"


def pg_type(arrow_type: pa.DataType) -> str:
    """The PostgreSQL column type for an Arrow type (the types Spark writes to Parquet)."""
    t = pa.types
    if t.is_boolean(arrow_type):
        return "boolean"
    if t.is_int8(arrow_type) or t.is_int16(arrow_type):
        return "smallint"
    if t.is_int32(arrow_type):
        return "integer"
    if t.is_int64(arrow_type):
        return "bigint"
    if t.is_float32(arrow_type):
        return "real"
    if t.is_float64(arrow_type):
        return "double precision"
    if t.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision},{arrow_type.scale})"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type):
        return "text"
    if t.is_date(arrow_type):
        return "date"
    if t.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    raise TypeError(f"gold column type {arrow_type} has no PostgreSQL mapping: keep gold tables flat")


def gold_table(path: Path, version: int | None = None):
    """A gold Delta table (``deltalake.DeltaTable``) at ``version``, or at its current version when None,
    in a local lake or in Azure storage (``path`` from :func:`pulse.lake.zone_path`). Only the files of
    that version are read; older ones stay on disk for time travel until VACUUM."""
    from pulse.lake_storage import delta_table

    table = delta_table(path, what=f"gold table {path}", hint="did the gold job run?")
    if version is not None:
        table.load_as_version(version)
    return table


def gold_dataset(path: Path, version: int | None = None) -> pads.Dataset:
    """A gold table's rows at ``version`` (the current one when None), as an Arrow dataset."""
    return gold_table(path, version).to_pyarrow_dataset()


def create_table(conn: Connection, schema: str, table: str, arrow_schema: pa.Schema) -> None:
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(pg_type(f.type))) for f in arrow_schema
    )
    conn.execute(sql.SQL("CREATE TABLE {}.{} ({})").format(sql.Identifier(schema), sql.Identifier(table), columns))


class _CopySink:
    """A file-like object that hands Arrow's CSV bytes to a COPY in progress."""

    def __init__(self, copy: Any):
        self._copy = copy
        self.closed = False

    def write(self, data: bytes) -> int:
        self._copy.write(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def copy_dataset(conn: Connection, schema: str, table: str, dataset: pads.Dataset, batch_rows: int = 65_536) -> int:
    """COPY every row of ``dataset`` into ``schema.table``; returns the row count."""
    arrow_schema = dataset.schema
    query = sql.SQL("COPY {}.{} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, arrow_schema.names))
    )
    rows = 0
    with conn.cursor() as cur, cur.copy(query) as copy:
        sink = pa.PythonFile(_CopySink(copy), mode="w")
        with pacsv.CSVWriter(sink, arrow_schema, write_options=pacsv.WriteOptions(include_header=False)) as out:
            for batch in dataset.to_batches(batch_size=batch_rows):
                out.write_batch(batch)
                rows += batch.num_rows
    return rows


LAKE_VERSIONS_TABLE = "lake_versions"


def stage_gold(conn: Connection, source: str, gold_root: Path, tables: Sequence[str],
               versions: dict[str, int] | None = None) -> dict[str, int]:
    """Load every gold table of ``source`` into a fresh ``staging_<source>`` schema; commit and
    return the row count per table.

    Each table is read at its current Delta version, or at ``versions[table]`` (a rollback). The version
    read is recorded in ``staging_<source>.lake_versions``, for :func:`publish_gold` to log."""
    schema = staging_schema(source)
    counts: dict[str, int] = {}
    read_versions: dict[str, int] = {}
    with conn.transaction():
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for table in tables:
            delta = gold_table(gold_root / table, (versions or {}).get(table))
            read_versions[table] = delta.version()
            dataset = delta.to_pyarrow_dataset()
            create_table(conn, schema, table, dataset.schema)
            counts[table] = copy_dataset(conn, schema, table, dataset)
            log.info("staged %s.%s: %d rows from Delta version %d", schema, table, counts[table],
                     read_versions[table])
        conn.execute(sql.SQL("CREATE TABLE {}.{} (table_name text PRIMARY KEY, delta_version bigint NOT NULL)")
                     .format(sql.Identifier(schema), sql.Identifier(LAKE_VERSIONS_TABLE)))
        with conn.cursor() as cur:
            cur.executemany(sql.SQL("INSERT INTO {}.{} VALUES (%s, %s)").format(
                sql.Identifier(schema), sql.Identifier(LAKE_VERSIONS_TABLE)), sorted(read_versions.items()))
    return counts


PUBLISH_LOG_DDL = """
CREATE TABLE IF NOT EXISTS {meta}.publish_log (source text NOT NULL, run_id text, run_date date,
    published_at timestamptz NOT NULL DEFAULT now(), row_counts jsonb NOT NULL);
ALTER TABLE {meta}.publish_log
    ADD COLUMN IF NOT EXISTS publish_id bigint GENERATED BY DEFAULT AS IDENTITY,
    ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'run',
    ADD COLUMN IF NOT EXISTS lake_versions jsonb
"""


def publish_gold(
    conn: Connection,
    source: str,
    tables: dict[str, Sequence[str]],
    reporting_sql: str,
    run: dict[str, Any],
    kind: str = "run",
) -> int:
    """Swap the staged tables of ``source`` into ``gold`` in one transaction; returns the publish's id in
    ``pulse_meta.publish_log``.

    ``tables`` maps each table to its primary-key columns. ``reporting_sql`` recreates the source's
    views in ``reporting`` (dropping the old tables drops the views that read them). ``kind`` is
    ``run`` for a pipeline run, ``rollback`` for :mod:`pulse.time_travel`.
    """
    staging = staging_schema(source)
    with conn.transaction():
        for schema in (GOLD_SCHEMA, "reporting", META_SCHEMA):
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL(PUBLISH_LOG_DDL).format(meta=sql.Identifier(META_SCHEMA)))
        versions = dict(conn.execute(sql.SQL("SELECT table_name, delta_version FROM {}.{}").format(
            sql.Identifier(staging), sql.Identifier(LAKE_VERSIONS_TABLE))).fetchall())
        counts = {}
        for table, key in tables.items():
            staged = sql.SQL("{}.{}").format(sql.Identifier(staging), sql.Identifier(table))
            conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                staged, sql.SQL(", ").join(map(sql.Identifier, key))))
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(
                sql.Identifier(GOLD_SCHEMA), sql.Identifier(table)))
            conn.execute(sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(staged, sql.Identifier(GOLD_SCHEMA)))
            counts[table] = conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(GOLD_SCHEMA), sql.Identifier(table))).fetchone()[0]
        if reporting_sql.strip():
            conn.execute(reporting_sql)
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(staging)))
        publish_id = conn.execute(
            sql.SQL("INSERT INTO {}.publish_log (source, run_id, run_date, row_counts, kind, lake_versions) "
                    "VALUES (%s, %s, %s, %s, %s, %s) RETURNING publish_id").format(sql.Identifier(META_SCHEMA)),
            (source, run.get("run_id"), run.get("run_date"), _json(counts), kind,
             _json({t: versions[t] for t in tables if t in versions})),
        ).fetchone()[0]
    log.info("published %s to schema %s (publish %d; lake versions %s): %s", source, GOLD_SCHEMA, publish_id,
             versions, counts)
    return publish_id


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)
