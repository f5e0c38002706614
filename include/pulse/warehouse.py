"""Loading gold into PostgreSQL: COPY into a staging schema, then publish atomically.

The load is two steps with the quality gate between them:

1. :func:`stage_gold` creates the run's staging schema afresh (``staging_<source>_<hash of the run id>``,
   :func:`staging_schema`: two runs of a source never share one). A table whose lake changes since the last
   publish are a few MERGEd slices stages only those (:func:`stage_slices`: the changed keys and their rows);
   any other is staged whole. Rows go in with ``COPY … FROM STDIN (FORMAT csv)``, fed by Arrow's CSV writer
   straight from one version of the gold Delta table (no Python loop per row). Either way
   ``<staging>.<table>`` is the table as the publish will leave it (a view, for a slice load), which the
   quality gate checks. The versions read, and how each table is loaded, go in ``<staging>.lake_versions``.
   Nothing a reader sees has changed yet.
2. :func:`publish_gold` applies it to schema ``gold`` in one transaction: a table staged whole gets its
   primary key and replaces the old one (drop, move in; the source's reporting views are recreated), a
   slice load deletes the changed keys from the published table and inserts their rows in place, and the
   publish is recorded in ``pulse_meta.publish_log``, with the Delta version of each lake table it came
   from (what :mod:`pulse.time_travel` lists and rolls back to). A reader sees all of the old gold or all
   of the new; PostgreSQL's transactional DDL makes the swap atomic, and nothing changes if anything
   fails. Slices are relative to the gold they were staged against: a publish finding gold moved since
   (another publish or a rollback between) changes nothing and says to stage again
   (:class:`GoldMovedSinceStaged`).

The publish waits for BI readers only so long: it locks its source's row in ``pulse_meta.publish_lock``
(publishes of one source take turns) and then every gold table it replaces, in one fixed order, before it
changes anything, under a ``lock_timeout`` (:func:`pulse.config.publish_lock_timeout_seconds`). A reader
still holding a table makes it roll back and try again later (tenacity), so a new reader waits at most
that long; the last try fails naming the sessions in the way. A table loaded in place is not locked that
way: its DELETE and INSERT take row locks, and readers never wait for them. A publish whose lake versions are older
than the ones gold was last published from is refused (:class:`OlderThanPublished`), unless it is a
rollback.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
from psycopg import Connection, errors, sql
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from pulse import config

log = logging.getLogger(__name__)

GOLD_SCHEMA = "gold"
META_SCHEMA = "pulse_meta"
WAREHOUSE_SQL_DIR = config.SQL_DIR / "warehouse"


def staging_schema(source: str, run_id: str | None = None) -> str:
    """The schema a run stages ``source`` in: ``staging_<source>_<10 hex digits of the run id's hash>``, its
    own, so runs of one source at once never meet there; ``staging_<source>`` for a load outside a DAG
    run (a rollback)."""
    if run_id is None:
        return f"staging_{source}"
    return f"staging_{source}_{hashlib.sha256(run_id.encode()).hexdigest()[:10]}"


def ensure_meta_tables(conn: Connection) -> None:
    """Create what the load keeps in ``pulse_meta`` (``include/sql/warehouse/publish_meta.sql``) when missing."""
    with conn.transaction():
        conn.execute((WAREHOUSE_SQL_DIR / "publish_meta.sql").read_text())


def drop_stale_stagings(conn: Connection, source: str, max_age_hours: float) -> list[str]:
    """Drop the staging schemas of ``source`` that runs left behind more than ``max_age_hours`` ago (a
    killed run never reached its publish), saying so in the log; returns their names."""
    with conn.transaction():
        stale = conn.execute(
            sql.SQL("DELETE FROM {}.staging_runs WHERE source = %s AND staged_at < now() - make_interval(secs => %s) "
                    "RETURNING schema_name, run_id, staged_at").format(sql.Identifier(META_SCHEMA)),
            (source, max_age_hours * 3600)).fetchall()
        for schema, run_id, staged_at in stale:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            log.warning("dropped the staging schema %s of run %s of %s: staged at %s, more than %g hours ago, and "
                        "never published (the run was killed or failed)", schema, run_id, source, staged_at,
                        max_age_hours)
    return [schema for schema, _, _ in stale]


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


# How a table is staged, in ``<staging>.lake_versions.load``: COPYed whole (swapped in by the publish), the
# changed slices only (applied in place by the publish), or nothing (unchanged since the last publish).
COPY, SLICE, UNCHANGED = "copy", "slice", "unchanged"


def _changed_keys(table: str) -> str:
    return f"{table}__changed_keys"


def _changed_rows(table: str) -> str:
    return f"{table}__changed_rows"


def _slice_tables(schema: str, table: str) -> tuple[sql.Composable, sql.Composable]:
    """The qualified names of a slice load's two staged tables: the changed keys and their rows."""
    return tuple(sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
                 for name in (_changed_keys(table), _changed_rows(table)))


def stage_slices(conn: Connection, schema: str, table: str, key: Sequence[str], delta,
                 since: int) -> tuple[int, int, str] | None:
    """Stage only what changed in ``table`` since Delta version ``since`` (the version the published ``gold``
    table came from): the changed keys (``<table>__changed_keys``) and their rows as the lake has them now
    (``<table>__changed_rows``), and, for the quality gate, a view ``<staging>.<table>`` of the table as the
    publish will leave it (the published rows of other keys, plus the changed rows). An unchanged table
    stages nothing but that view over ``gold``. Returns the rows of the table-to-be, the rows read from the
    lake and how it is loaded (:data:`SLICE` or :data:`UNCHANGED`); or None when a slice load does not apply
    (then the caller COPYs the whole table): the table is not published, its columns differ, the lake's
    commits are not MERGEs, or the change is large (over :data:`SLICE_SHARE` of the table)."""
    published = sql.SQL("{}.{}").format(sql.Identifier(GOLD_SCHEMA), sql.Identifier(table))
    staged = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    lake_columns = delta.to_pyarrow_dataset().schema.names
    if _warehouse_columns(conn, GOLD_SCHEMA, table) != lake_columns or since > delta.version():
        return None
    if since == delta.version():
        conn.execute(sql.SQL("CREATE VIEW {} AS TABLE {}").format(staged, published))
        rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(published)).fetchone()[0]
        log.info("staged %s.%s: unchanged since the last publish (Delta version %d): nothing to load, %d rows stay",
                 schema, table, since, rows)
        return rows, 0, UNCHANGED
    changes = table_changes(delta, since, key)
    if changes is None:
        return None
    keys, rows = changes
    total = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(published)).fetchone()[0]
    if keys.num_rows > SLICE_SHARE * max(total, 1):
        return None
    changed_keys, changed_rows = _slice_tables(schema, table)
    conn.execute(sql.SQL("CREATE TABLE {} AS SELECT {} FROM {} WITH NO DATA").format(
        changed_keys, sql.SQL(", ").join(map(sql.Identifier, key)), published))
    copy_dataset(conn, schema, _changed_keys(table), pads.dataset(keys))
    conn.execute(sql.SQL("CREATE TABLE {} AS TABLE {} WITH NO DATA").format(changed_rows, published))
    copy_dataset(conn, schema, _changed_rows(table), pads.dataset(rows.select(lake_columns)))
    changed = _key_match(key, "c", "g")
    conn.execute(sql.SQL("CREATE VIEW {} AS SELECT g.* FROM {} g WHERE NOT EXISTS (SELECT FROM {} c WHERE {}) "
                         "UNION ALL TABLE {}").format(staged, published, changed_keys, changed, changed_rows))
    # The view's rows, without scanning it: the published rows, less those of the changed keys (found through
    # the key's index), plus the changed rows.
    replaced = conn.execute(sql.SQL("SELECT count(*) FROM {} g WHERE EXISTS (SELECT FROM {} c WHERE {})").format(
        published, changed_keys, changed)).fetchone()[0]
    staged_rows = total - replaced + rows.num_rows
    log.info("staged %s.%s as a slice load: %d changed keys, %d rows from the lake (Delta versions %d → %d); the "
             "publish deletes those keys and inserts the rows in place, %d rows after it", schema, table,
             keys.num_rows, rows.num_rows, since, delta.version(), staged_rows)
    return staged_rows, rows.num_rows, SLICE


def _key_match(key: Sequence[str], left: str, right: str) -> sql.Composable:
    return sql.SQL(" AND ").join(sql.SQL("{}.{} = {}.{}").format(sql.Identifier(left), sql.Identifier(k),
                                                                 sql.Identifier(right), sql.Identifier(k))
                                 for k in key)


def stage_gold(conn: Connection, source: str, gold_root: Path, tables: Sequence[str],
               versions: dict[str, int] | None = None, keys: dict[str, Sequence[str]] | None = None,
               staging: str | None = None, run_id: str | None = None) -> dict[str, int]:
    """Load every gold table of ``source`` into a fresh staging schema, ``staging`` (default
    :func:`staging_schema` of ``source``); commit and return the row count per table.

    Each table is read at its current Delta version, or at ``versions[table]`` (a rollback). The version
    read is recorded in ``<staging>.lake_versions``, for :func:`publish_gold` to log, with the rows read
    from the lake (``lake_rows``: all of them for a COPY, the changed ones for a slice load), how it is
    loaded (``load``) and, for a slice, the published version it is relative to (``since_version``). With
    ``keys`` (each table's key), a table whose lake changes since the last publish are MERGEs touching a
    small share of it, or none, is staged as a slice load (:func:`stage_slices`); any other is COPYed whole.
    Either way ``<staging>.<table>`` holds the table as the publish will leave it, for the quality gate. The
    schema is recorded in ``pulse_meta.staging_runs`` (with ``run_id``) until its publish drops it."""
    schema = staging or staging_schema(source)
    counts: dict[str, int] = {}
    read_versions: dict[str, int] = {}
    lake_rows: dict[str, int] = {}
    table_ids: dict[str, str] = {}
    loads: dict[str, str] = {}
    since: dict[str, int | None] = {}
    ensure_meta_tables(conn)
    with conn.transaction():  # the outermost transaction (a connection that is not in autocommit mode too)
        published = published_versions(conn, source) if keys and not versions else {}
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("INSERT INTO {}.staging_runs (schema_name, source, run_id) VALUES (%s, %s, %s) "
                             "ON CONFLICT (schema_name) DO UPDATE SET run_id = excluded.run_id, staged_at = now()")
                     .format(sql.Identifier(META_SCHEMA)), (schema, source, run_id))
        for table in tables:
            delta = gold_table(gold_root / table, (versions or {}).get(table))
            read_versions[table] = delta.version()
            table_ids[table] = delta.metadata().id
            # A slice load builds on what the warehouse holds: only when it came from this very table.
            same_table = table in published and published[table][1] == table_ids[table]
            sliced = (stage_slices(conn, schema, table, keys[table], delta, published[table][0])
                      if same_table and keys and table in keys else None)
            if sliced is not None:
                counts[table], lake_rows[table], loads[table] = sliced
                since[table] = published[table][0]
                continue
            dataset = delta.to_pyarrow_dataset()
            create_table(conn, schema, table, dataset.schema)
            counts[table] = lake_rows[table] = copy_dataset(conn, schema, table, dataset)
            loads[table], since[table] = COPY, None
            log.info("staged %s.%s: %d rows from Delta version %d", schema, table, counts[table],
                     read_versions[table])
        conn.execute(sql.SQL("CREATE TABLE {}.{} (table_name text PRIMARY KEY, delta_version bigint NOT NULL, "
                             "delta_table_id text NOT NULL, lake_rows bigint NOT NULL, load text NOT NULL, "
                             "since_version bigint)")
                     .format(sql.Identifier(schema), sql.Identifier(LAKE_VERSIONS_TABLE)))
        with conn.cursor() as cur:
            cur.executemany(sql.SQL("INSERT INTO {}.{} VALUES (%s, %s, %s, %s, %s, %s)").format(
                sql.Identifier(schema), sql.Identifier(LAKE_VERSIONS_TABLE)),
                [(t, v, table_ids[t], lake_rows[t], loads[t], since[t]) for t, v in sorted(read_versions.items())])
    return counts


class PublishBlocked(RuntimeError):
    """The publish could not lock what it replaces in time, on any of its tries: gold is as it was."""


class OlderThanPublished(RuntimeError):
    """The staged gold comes from older lake versions than the ones gold was last published from."""


class GoldMovedSinceStaged(RuntimeError):
    """A table staged as a slice load (or as unchanged) is relative to the version gold held when it was
    staged, and another publish (or a rollback) has changed gold since: applying it would mix two versions."""


def publish_gold(
    conn: Connection,
    source: str,
    tables: dict[str, Sequence[str]],
    reporting_sql: str,
    run: dict[str, Any],
    kind: str = "run",
    staging: str | None = None,
    allow_older: bool = False,
) -> int:
    """Apply what ``staging`` (default :func:`staging_schema` of ``source``) holds to ``gold`` in one
    transaction (a table staged whole is swapped in, a slice load applied in place; the module's docstring);
    returns the publish's id in ``pulse_meta.publish_log``.

    ``tables`` maps each table to its primary-key columns. ``reporting_sql`` recreates the source's
    views in ``reporting`` (dropping the old tables drops the views that read them). ``kind`` is
    ``run`` for a pipeline run, ``rollback`` for :mod:`pulse.time_travel`.

    Locks are waited for at most :func:`pulse.config.publish_lock_timeout_seconds` per try, for
    :func:`pulse.config.publish_lock_attempts` tries with growing pauses; then :class:`PublishBlocked`
    names the sessions in the way. Staged lake versions older than the last publish's raise
    :class:`OlderThanPublished`, unless ``kind`` is ``rollback`` or ``allow_older``.
    """
    staging = staging or staging_schema(source)
    publisher = f"pulse publish {source}"
    ensure_meta_tables(conn)
    with conn.transaction():  # so the session is named in pg_stat_activity, where blockers are looked up
        conn.execute("SELECT set_config('application_name', %s, false)", (publisher,))
    retrying = Retrying(retry=retry_if_exception_type(errors.LockNotAvailable),
                        stop=stop_after_attempt(config.publish_lock_attempts()),
                        wait=wait_exponential_jitter(initial=1, max=30), before_sleep=_log_lock_wait, reraise=True)
    try:
        for attempt in retrying:
            with attempt:
                publish_id, versions, counts = _swap_in(conn, source, tables, reporting_sql, run, kind, staging,
                                                        allow_older or kind == "rollback")
    except errors.LockNotAvailable as exc:
        raise PublishBlocked(_blocked_message(conn, source, tables, publisher)) from exc
    log.info("published %s from %s to schema %s (publish %d; lake versions %s): %s", source, staging, GOLD_SCHEMA,
             publish_id, versions, counts)
    return publish_id


def _swap_in(conn: Connection, source: str, tables: dict[str, Sequence[str]], reporting_sql: str,
             run: dict[str, Any], kind: str, staging: str, allow_older: bool) -> tuple[int, dict, dict]:
    """One try of the publish: one transaction that takes every lock first, then swaps."""
    meta = sql.Identifier(META_SCHEMA)
    with conn.transaction():
        conn.execute("SELECT set_config('lock_timeout', %s, true)",
                     (f"{round(config.publish_lock_timeout_seconds() * 1000)}ms",))
        for schema in (GOLD_SCHEMA, "reporting"):
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        # Publishes of one source take turns; the later one then sees what the earlier one published.
        conn.execute(sql.SQL("INSERT INTO {}.publish_lock VALUES (%s) ON CONFLICT DO NOTHING").format(meta), (source,))
        conn.execute(sql.SQL("SELECT FROM {}.publish_lock WHERE source = %s FOR UPDATE").format(meta), (source,))
        if conn.execute("SELECT to_regnamespace(%s)", (staging,)).fetchone()[0] is None:
            raise RuntimeError(f"the staging schema {staging} of {source} is missing: it was published or dropped "
                               "already (a run killed long ago?); run stage_gold again")
        staged = conn.execute(sql.SQL("SELECT table_name, delta_version, delta_table_id, load, since_version "
                                      "FROM {}.{}").format(sql.Identifier(staging),
                                                           sql.Identifier(LAKE_VERSIONS_TABLE))).fetchall()
        versions = {t: v for t, v, _, _, _ in staged}
        table_ids = {t: i for t, _, i, _, _ in staged}
        loads = {t: (load, since) for t, _, _, load, since in staged}
        _check_not_older(conn, source, run, versions, table_ids, allow_older)
        _check_slices_current(conn, source, loads, versions, table_ids, staging)
        load_of = {t: loads.get(t, (COPY, None))[0] for t in tables}
        swapped = [t for t in sorted(tables) if load_of[t] == COPY]
        for table in swapped:  # the slow part (an index build) before gold is locked
            conn.execute(sql.SQL("ALTER TABLE {}.{} ADD PRIMARY KEY ({})").format(
                sql.Identifier(staging), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, tables[table]))))
        # Counted before gold is locked, in staging: a COPYed table as staged, a slice or unchanged table
        # through its view, which is the table as the publish leaves it (gold has not moved since it was
        # staged: _check_slices_current, and the publish lock keeps it so).
        counts = {table: conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(staging), sql.Identifier(table))).fetchone()[0] for table in tables}
        # Every gold table this publish replaces, in one statement and one (sorted) order, before it changes
        # anything: a reader in the way makes it wait lock_timeout at most, and a new reader waits as long.
        # A table loaded in place takes only the row locks its DELETE and INSERT need: readers never wait.
        present = [t for t in swapped if conn.execute(
            "SELECT to_regclass(%s)", (f"{GOLD_SCHEMA}.{t}",)).fetchone()[0] is not None]
        if present:
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.SQL(", ").join(
                sql.SQL("{}.{}").format(sql.Identifier(GOLD_SCHEMA), sql.Identifier(t)) for t in present)))
        for table in swapped:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(
                sql.Identifier(GOLD_SCHEMA), sql.Identifier(table)))
            conn.execute(sql.SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                sql.Identifier(staging), sql.Identifier(table), sql.Identifier(GOLD_SCHEMA)))
        for table in sorted(t for t in tables if load_of[t] == SLICE):
            _apply_slices(conn, staging, table, tables[table])
        # Dropping a table dropped the views over it; a publish that only loaded in place leaves them be
        # (refresh_reporting runs the same SQL after every publish).
        if swapped and reporting_sql.strip():
            conn.execute(reporting_sql)
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(staging)))
        conn.execute(sql.SQL("DELETE FROM {}.staging_runs WHERE schema_name = %s").format(meta), (staging,))
        publish_id = conn.execute(
            sql.SQL("INSERT INTO {}.publish_log (source, run_id, run_date, row_counts, kind, lake_versions, "
                    "lake_table_ids) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING publish_id").format(meta),
            (source, run.get("run_id"), run.get("run_date"), _json(counts), kind,
             _json({t: versions[t] for t in tables if t in versions}),
             _json({t: table_ids[t] for t in tables if t in table_ids})),
        ).fetchone()[0]
    return publish_id, versions, counts


def _check_slices_current(conn: Connection, source: str, loads: dict[str, tuple[str, int | None]],
                          versions: dict[str, int], table_ids: dict[str, str], staging: str) -> None:
    """Refuse to apply slices (or keep a table as unchanged) staged against gold that another publish has
    replaced since (:class:`GoldMovedSinceStaged`): the published table must still come from the same Delta
    table, at a version from the one the slices start at to the one they end at. (Between those, every
    commit is a MERGE, so deleting the changed keys and inserting their rows gives the staged version
    still; a newer published version is :func:`_check_not_older`'s refusal.)"""
    published = published_versions(conn, source)
    moved = {}
    for table, (load, since) in loads.items():
        now, table_id = published.get(table, (None, None))
        if load != COPY and (table_id != table_ids[table] or now is None or not since <= now <= versions[table]):
            moved[table] = now if table_id == table_ids[table] else f"{now} of another Delta table"
    if moved:
        what = ", ".join(f"{t}: staged against Delta version {loads[t][1]}, gold now holds version {now}"
                         for t, now in sorted(moved.items()))
        raise GoldMovedSinceStaged(
            f"the slices staged in {staging} for {source} are relative to gold as it was when they were staged, "
            f"and another publish or a rollback has replaced it since ({what}). Nothing was changed. Clear "
            "stage_gold (and the tasks after it) to stage again against what gold holds now")


def _apply_slices(conn: Connection, staging: str, table: str, key: Sequence[str]) -> None:
    """Delete the staged changed keys from ``gold.<table>`` and insert their rows as the lake has them."""
    published = sql.SQL("{}.{}").format(sql.Identifier(GOLD_SCHEMA), sql.Identifier(table))
    changed_keys, changed_rows = _slice_tables(staging, table)
    deleted = conn.execute(sql.SQL("DELETE FROM {} g USING {} c WHERE {}").format(
        published, changed_keys, _key_match(key, "c", "g"))).rowcount
    inserted = conn.execute(sql.SQL("INSERT INTO {} TABLE {}").format(published, changed_rows)).rowcount
    log.info("published %s.%s in place: %d rows deleted, %d inserted", GOLD_SCHEMA, table, deleted, inserted)


def _check_not_older(conn: Connection, source: str, run: dict[str, Any], versions: dict[str, int],
                     table_ids: dict[str, str], allow_older: bool) -> None:
    """Refuse (or, when ``allow_older``, warn about) staged lake versions older than the last publish's, for
    the same Delta tables; warn when the run's date is older than the last run's publish (a backfill)."""
    published = published_versions(conn, source)
    older = {t: (v, published[t][0]) for t, v in versions.items()
             if t in published and published[t][1] == table_ids.get(t) and v < published[t][0]}
    last = conn.execute(sql.SQL("SELECT run_id, run_date, published_at FROM {}.publish_log WHERE source = %s "
                                "ORDER BY published_at DESC, publish_id DESC LIMIT 1").format(
        sql.Identifier(META_SCHEMA)), (source,)).fetchone()
    if older:
        what = ", ".join(f"{t}: Delta version {staged} staged, {now} published" for t, (staged, now) in
                         sorted(older.items()))
        message = (f"the gold staged for {source} run {run.get('run_id')} is older than what the warehouse has "
                   f"({what}; last published by run {last[0]} at {last[2]})")
        if not allow_older:
            raise OlderThanPublished(f"{message}. Another run published newer data meanwhile, so nothing was "
                                     "changed. To go back to older gold on purpose, roll back: make rollback "
                                     f"SOURCE={source} (python -m pulse.time_travel)")
        log.warning("%s: publishing it anyway, as asked", message)
    run_date = run.get("run_date")
    if last and run_date and last[1] and run_date < last[1]:
        log.warning("publishing %s run %s of %s after run %s of %s: its lake versions are not older, so gold moves "
                    "forward (a backfill or a rerun)", source, run.get("run_id"), run_date, last[0], last[1])


def _log_lock_wait(state: RetryCallState) -> None:
    log.warning("publish: a lock on gold was not free within %gs (a reader still in a transaction, or another "
                "publish): rolled back, trying again in %.0fs (try %d of %d)", config.publish_lock_timeout_seconds(),
                state.upcoming_sleep, state.attempt_number + 1, config.publish_lock_attempts())


def _blocked_message(conn: Connection, source: str, tables: dict[str, Sequence[str]], publisher: str) -> str:
    """Why the publish gave up, naming each session that held it up: pid, role, since when, what it runs."""
    rows = conn.execute((WAREHOUSE_SQL_DIR / "publish_blockers.sql").read_text(),
                        {"tables": [f"{GOLD_SCHEMA}.{t}" for t in tables], "publisher": publisher}).fetchall()
    conn.rollback()  # the query above opened a transaction on a connection that is not in autocommit mode
    sessions = "; ".join(
        f"pid {pid} (role {role}{', ' + app if app else ''}, {state}, transaction since {xact}, query since "
        f"{query_start}: {query})" for pid, role, app, state, xact, query_start, query in rows) or \
        "none any more (they ended meanwhile)"
    return (f"the publish of {source} could not lock gold within {config.publish_lock_timeout_seconds():g}s on "
            f"any of {config.publish_lock_attempts()} tries, so gold is as it was. Held up by: {sessions}. End "
            "those sessions (SELECT pg_terminate_backend(<pid>)) or wait for them, then clear publish_gold")


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)
