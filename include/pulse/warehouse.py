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
import pyarrow.compute as pc
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
# A change to more than this share of a table's rows is loaded whole (COPY of the table) rather than as a slice.
SLICE_SHARE = 0.25
# Delta operations after which a table holds the same rows, or only MERGEd changes a slice load can apply.
_SLICEABLE_OPERATIONS = {"MERGE", "OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES"}
_CHANGE_TYPE, _COMMIT_VERSION = "_change_type", "_commit_version"


def published_versions(conn: Connection, source: str) -> dict[str, tuple[int, str]]:
    """The lake version of each gold table the last publish of ``source`` loaded, with the Delta table's
    id (another lake's table of the same name has another id): empty when none is known."""
    exists = conn.execute("SELECT to_regclass(%s)", (f"{META_SCHEMA}.publish_log",)).fetchone()[0]
    if not exists:
        return {}
    columns = {r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'publish_log'",
        (META_SCHEMA,)).fetchall()}
    if not {"lake_versions", "lake_table_ids"} <= columns:
        return {}
    row = conn.execute(sql.SQL("SELECT lake_versions, lake_table_ids FROM {}.publish_log WHERE source = %s "
                               "ORDER BY published_at DESC, publish_id DESC LIMIT 1").format(
        sql.Identifier(META_SCHEMA)), (source,)).fetchone()
    if not row or not row[0] or not row[1]:
        return {}
    return {table: (int(version), row[1][table]) for table, version in row[0].items() if table in row[1]}


def _warehouse_columns(conn: Connection, schema: str, table: str) -> list[str]:
    rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND "
                        "table_name = %s ORDER BY ordinal_position", (schema, table)).fetchall()
    return [r[0] for r in rows]


def _without_views(table: pa.Table) -> pa.Table:
    """``table`` with string and binary view columns (what deltalake's change feed gives) as plain ones,
    which every Arrow kernel and the CSV writer take."""
    plain = {pa.string_view(): pa.string(), pa.binary_view(): pa.binary()}
    return table.cast(pa.schema([f.with_type(plain.get(f.type, f.type)) for f in table.schema]))


def table_changes(delta, since: int, key: Sequence[str]) -> tuple[pa.Table, pa.Table] | None:
    """What the commits after ``since`` changed in a gold Delta table, when they are MERGEs (or changed no
    data): the keys they touched, and each touched key's row as the table's version now holds it. None
    when another kind of commit (a rewrite, a restore) came between, or the change feed is not on."""
    upto = delta.version()
    for commit in delta.history():
        if since < commit.get("version", -1) <= upto and commit.get("operation") not in _SLICEABLE_OPERATIONS:
            return None
    if (delta.metadata().configuration or {}).get("delta.enableChangeDataFeed", "false").lower() != "true":
        return None
    feed = _without_views(pa.RecordBatchReader.from_stream(
        delta.load_cdf(starting_version=since + 1, ending_version=upto)).read_all())
    keys = feed.select(list(key)).group_by(list(key)).aggregate([])
    new = feed.filter(pc.is_in(feed[_CHANGE_TYPE], pa.array(["insert", "update_postimage"])))
    newest = new.group_by(list(key)).aggregate([(_COMMIT_VERSION, "max")]).rename_columns(
        [*key, _COMMIT_VERSION])
    rows = new.join(newest, [*key, _COMMIT_VERSION], join_type="inner")
    return keys, rows.drop_columns([c for c in rows.column_names if c.startswith(("_change", "_commit"))])


def stage_slices(conn: Connection, schema: str, table: str, key: Sequence[str], delta, since: int) -> int | None:
    """Stage ``table`` as the published ``gold`` table with the slices changed since Delta version ``since``
    replaced (delete the changed keys, insert their rows as the lake has them now), all in PostgreSQL but
    the changed rows. Returns the staged row count, or None when a slice load does not apply (then the
    caller COPYs the whole table): the table is not published, its columns differ, the lake's commits are
    not MERGEs, or the change is large (over :data:`SLICE_SHARE` of the table)."""
    published = sql.SQL("{}.{}").format(sql.Identifier(GOLD_SCHEMA), sql.Identifier(table))
    staged = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    lake_columns = delta.to_pyarrow_dataset().schema.names
    if _warehouse_columns(conn, GOLD_SCHEMA, table) != lake_columns or since > delta.version():
        return None
    if since == delta.version():
        conn.execute(sql.SQL("CREATE TABLE {} AS TABLE {}").format(staged, published))
        staged_rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(staged)).fetchone()[0]
        log.info("staged %s.%s: unchanged since the last publish (Delta version %d), %d rows copied from the "
                 "published table", schema, table, since, staged_rows)
        return staged_rows
    changes = table_changes(delta, since, key)
    if changes is None:
        return None
    keys, rows = changes
    total = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(published)).fetchone()[0]
    if keys.num_rows > SLICE_SHARE * max(total, 1):
        return None
    changed = sql.Identifier(f"{table}__changed_keys")
    conn.execute(sql.SQL("CREATE TABLE {}.{} AS SELECT {} FROM {} WITH NO DATA").format(
        sql.Identifier(schema), changed, sql.SQL(", ").join(map(sql.Identifier, key)), published))
    copy_dataset(conn, schema, f"{table}__changed_keys", pads.dataset(keys))
    matches = sql.SQL(" AND ").join(sql.SQL("c.{k} = g.{k}").format(k=sql.Identifier(k)) for k in key)
    conn.execute(sql.SQL("CREATE TABLE {} AS SELECT g.* FROM {} g WHERE NOT EXISTS "
                         "(SELECT 1 FROM {}.{} c WHERE {})").format(staged, published, sql.Identifier(schema),
                                                                     changed, matches))
    copy_dataset(conn, schema, table, pads.dataset(rows.select(lake_columns)))
    conn.execute(sql.SQL("DROP TABLE {}.{}").format(sql.Identifier(schema), changed))
    staged_rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(staged)).fetchone()[0]
    log.info("staged %s.%s as a slice load: %d changed keys, %d rows from the lake, the other %d rows copied from "
             "the published table (Delta versions %d → %d)", schema, table, keys.num_rows, rows.num_rows,
             staged_rows - rows.num_rows, since, delta.version())
    return staged_rows


def stage_gold(conn: Connection, source: str, gold_root: Path, tables: Sequence[str],
               versions: dict[str, int] | None = None, keys: dict[str, Sequence[str]] | None = None
               ) -> dict[str, int]:
    """Load every gold table of ``source`` into a fresh ``staging_<source>`` schema; commit and
    return the row count per table.

    Each table is read at its current Delta version, or at ``versions[table]`` (a rollback). The version
    read is recorded in ``staging_<source>.lake_versions``, for :func:`publish_gold` to log. With ``keys``
    (each table's key), a table whose lake changes since the last publish are MERGEs touching a small share
    of it is staged as a slice load (:func:`stage_slices`); any other is COPYed whole."""
    schema = staging_schema(source)
    counts: dict[str, int] = {}
    read_versions: dict[str, int] = {}
    table_ids: dict[str, str] = {}
    with conn.transaction():  # the outermost transaction (a connection that is not in autocommit mode too)
        published = published_versions(conn, source) if keys and not versions else {}
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for table in tables:
            delta = gold_table(gold_root / table, (versions or {}).get(table))
            read_versions[table] = delta.version()
            table_ids[table] = delta.metadata().id
            # A slice load builds on what the warehouse holds: only when it came from this very table.
            same_table = table in published and published[table][1] == table_ids[table]
            sliced = (stage_slices(conn, schema, table, keys[table], delta, published[table][0])
                      if same_table and keys and table in keys else None)
            if sliced is not None:
                counts[table] = sliced
                continue
            dataset = delta.to_pyarrow_dataset()
            create_table(conn, schema, table, dataset.schema)
            counts[table] = copy_dataset(conn, schema, table, dataset)
            log.info("staged %s.%s: %d rows from Delta version %d", schema, table, counts[table],
                     read_versions[table])
        conn.execute(sql.SQL("CREATE TABLE {}.{} (table_name text PRIMARY KEY, delta_version bigint NOT NULL, "
                             "delta_table_id text NOT NULL)")
                     .format(sql.Identifier(schema), sql.Identifier(LAKE_VERSIONS_TABLE)))
        with conn.cursor() as cur:
            cur.executemany(sql.SQL("INSERT INTO {}.{} VALUES (%s, %s, %s)").format(
                sql.Identifier(schema), sql.Identifier(LAKE_VERSIONS_TABLE)),
                [(t, v, table_ids[t]) for t, v in sorted(read_versions.items())])
    return counts


PUBLISH_LOG_DDL = """
CREATE TABLE IF NOT EXISTS {meta}.publish_log (source text NOT NULL, run_id text, run_date date,
    published_at timestamptz NOT NULL DEFAULT now(), row_counts jsonb NOT NULL);
ALTER TABLE {meta}.publish_log
    ADD COLUMN IF NOT EXISTS publish_id bigint GENERATED BY DEFAULT AS IDENTITY,
    ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'run',
    ADD COLUMN IF NOT EXISTS lake_versions jsonb,
    ADD COLUMN IF NOT EXISTS lake_table_ids jsonb
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
        staged = conn.execute(sql.SQL("SELECT table_name, delta_version, delta_table_id FROM {}.{}").format(
            sql.Identifier(staging), sql.Identifier(LAKE_VERSIONS_TABLE))).fetchall()
        versions = {t: v for t, v, _ in staged}
        table_ids = {t: i for t, _, i in staged}
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
            sql.SQL("INSERT INTO {}.publish_log (source, run_id, run_date, row_counts, kind, lake_versions, "
                    "lake_table_ids) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING publish_id").format(
                sql.Identifier(META_SCHEMA)),
            (source, run.get("run_id"), run.get("run_date"), _json(counts), kind,
             _json({t: versions[t] for t in tables if t in versions}),
             _json({t: table_ids[t] for t in tables if t in table_ids})),
        ).fetchone()[0]
    log.info("published %s to schema %s (publish %d; lake versions %s): %s", source, GOLD_SCHEMA, publish_id,
             versions, counts)
    return publish_id


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)
