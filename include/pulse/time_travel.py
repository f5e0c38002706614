"""The lake's history and rollback: list publishes and table versions, and roll a source's gold back.

Every gold table is a Delta table, so each write is a version kept in its log, and every publish records
in ``pulse_meta.publish_log`` the Delta version of each gold table it loaded. That makes three commands:

    python -m pulse.time_travel publishes creator            # the source's publishes, newest first
    python -m pulse.time_travel history creator fact_engagement   # a gold table's Delta versions
    python -m pulse.time_travel rollback creator [--to-publish ID]

A **rollback** restores the lake's gold and the warehouse's gold to an earlier publish together (by
default, the one before the latest):

1. the gold tables are staged from the Delta versions that publish loaded (time travel: nothing in
   the lake has changed yet), and the quality gate's checks run on them;
2. each gold Delta table is restored to that version (Delta ``RESTORE``: a new version whose content is
   the old one, so the rollback itself stays in the history and can be undone the same way);
3. the staged tables are swapped into ``gold`` in one transaction, as a publish of kind ``rollback``.

A failure before step 3 leaves the warehouse as it was; running the command again finishes the job.
Pause the source's DAG first, so a scheduled run does not publish in between. A version older than the
VACUUM retention (7 days, :mod:`spark_jobs.common.maintenance`) may have lost its files: the rollback
then stops at step 1 and says so.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from psycopg import Connection, sql

from pulse import quality
from pulse.sources.base import Source
from pulse.warehouse import META_SCHEMA, gold_table, publish_gold, stage_gold, staging_schema

log = logging.getLogger(__name__)


class RollbackError(RuntimeError):
    """The rollback cannot be done; the message says why, and nothing a reader sees has changed."""


@dataclass(frozen=True)
class Publish:
    publish_id: int
    kind: str
    run_id: str | None
    run_date: date | None
    published_at: datetime
    lake_versions: dict[str, int] | None
    row_counts: dict[str, int]


def publishes(conn: Connection, source: str, limit: int = 20) -> list[Publish]:
    """The latest publishes of ``source``, newest first."""
    # In a transaction block of its own: on a connection that is not in autocommit mode, a bare query would
    # leave a transaction open, and the stage and publish that follow would then be savepoints inside it,
    # never committed.
    with conn.transaction():
        if not conn.execute("SELECT to_regclass(%s)", (f"{META_SCHEMA}.publish_log",)).fetchone()[0]:
            return []
        rows = conn.execute(
            sql.SQL("SELECT publish_id, kind, run_id, run_date, published_at, lake_versions, row_counts "
                    "FROM {}.publish_log WHERE source = %s ORDER BY published_at DESC, publish_id DESC LIMIT %s")
            .format(sql.Identifier(META_SCHEMA)), (source, limit)).fetchall()
    return [Publish(*row) for row in rows]


def table_history(gold_root: Path, table: str, limit: int = 20) -> list[dict[str, Any]]:
    """A gold table's Delta versions, newest first: version, time, operation and rows written."""
    history = gold_table(gold_root / table).history(limit)
    return [{"version": h.get("version"),
             "timestamp": datetime.fromtimestamp(h["timestamp"] / 1000).isoformat(timespec="seconds"),
             "operation": h.get("operation"),
             "rows_written": (h.get("operationMetrics") or {}).get("numOutputRows")} for h in history]


@dataclass(frozen=True)
class RollbackResult:
    target: Publish
    publish_id: int
    restored: dict[str, tuple[int, int]]  # table -> (version restored, new version that holds it)


def rollback(conn: Connection, source: Source, gold_root: Path, reporting_sql: str,
             to_publish: int | None = None) -> RollbackResult:
    """Restore ``source``'s gold, in the lake and in the warehouse, to publish ``to_publish`` (default: the
    one before the latest). See the module's doc for the steps."""
    target = _target(conn, source.name, to_publish)
    tables = [t.name for t in source.gold_tables]
    missing = [t for t in tables if t not in (target.lake_versions or {})]
    if missing:
        raise RollbackError(f"publish {target.publish_id} of {source.name} recorded no Delta version for "
                            f"{', '.join(missing)} (it predates version tracking): pick a later one "
                            f"(python -m pulse.time_travel publishes {source.name})")
    versions = {t: int(target.lake_versions[t]) for t in tables}
    try:
        stage_gold(conn, source.name, gold_root, tables, versions=versions)
    except Exception as exc:  # noqa: BLE001 - a version VACUUM removed, a table gone: say which publish
        raise RollbackError(f"could not read the gold of publish {target.publish_id} at its Delta versions "
                            f"{versions}: {exc}. Versions older than the VACUUM retention may have lost "
                            "their files.") from exc
    if failed := quality.failed_checks(conn, staging_schema(source.name), list(source.gold_tables)):
        raise RollbackError(f"the gold of publish {target.publish_id} fails the quality gate now "
                            f"({', '.join(failed)}): nothing was rolled back")
    restored = {}
    for table, version in versions.items():
        restored[table] = (version, restore_version(gold_root / table, version))
        log.info("gold table %s: restored Delta version %d as version %d", table, version, restored[table][1])
    publish_id = publish_gold(conn, source.name, {t.name: t.key for t in source.gold_tables}, reporting_sql,
                              {"run_id": f"rollback to publish {target.publish_id}", "run_date": target.run_date},
                              kind="rollback")
    return RollbackResult(target, publish_id, restored)


def restore_version(path: Path, version: int) -> int:
    """Make ``version`` of the Delta table at ``path`` its current content again, with Delta's ``RESTORE``
    (the old version's files are added back in a new version; the versions in between stay in the
    history); returns that new version, or the current one when it already is ``version``."""
    table = gold_table(path)
    if table.version() != version:
        table.restore(version)
    return table.version()


def _target(conn: Connection, source: str, to_publish: int | None) -> Publish:
    history = publishes(conn, source, limit=1_000)
    if to_publish is None:
        if len(history) < 2:
            raise RollbackError(f"{source} has {len(history)} publish(es) on record: nothing earlier to roll "
                                "back to")
        return history[1]
    for publish in history:
        if publish.publish_id == to_publish:
            return publish
    raise RollbackError(f"no publish {to_publish} of {source} in {META_SCHEMA}.publish_log "
                        f"(python -m pulse.time_travel publishes {source} lists them)")


def _print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in rows[0]}
    print("  ".join(k.ljust(w) for k, w in widths.items()))
    for row in rows:
        print("  ".join(str(row[k]).ljust(w) for k, w in widths.items()))


def main(argv: list[str] | None = None) -> int:
    from pulse.config import lake_root
    from pulse.lake import zone_path
    from pulse.sources import SOURCES

    parser = argparse.ArgumentParser(prog="python -m pulse.time_travel", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("publishes", help="a source's publishes, newest first, with their Delta versions")
    p.add_argument("source", choices=sorted(SOURCES))
    h = commands.add_parser("history", help="a gold table's Delta versions, newest first")
    h.add_argument("source", choices=sorted(SOURCES))
    h.add_argument("table")
    r = commands.add_parser("rollback", help="restore the lake's and the warehouse's gold to an earlier publish")
    r.add_argument("source", choices=sorted(SOURCES))
    r.add_argument("--to-publish", type=int, help="the publish_id to restore (default: the one before the latest)")
    args = parser.parse_args(argv)
    source = SOURCES[args.source]
    gold_root = zone_path(lake_root(), "gold", source.name)

    if args.command == "history":
        _print_table(table_history(gold_root, args.table))
        return 0
    from pulse.tasks import reporting_sql, warehouse_connection

    conn = warehouse_connection()
    try:
        if args.command == "publishes":
            _print_table([{"publish_id": p.publish_id, "kind": p.kind, "run_date": p.run_date,
                           "published_at": p.published_at.isoformat(timespec="seconds"), "run_id": p.run_id,
                           "lake_versions": json.dumps(p.lake_versions, sort_keys=True)}
                          for p in publishes(conn, source.name)])
            return 0
        try:
            result = rollback(conn, source, gold_root, reporting_sql(source), args.to_publish)
        except RollbackError as exc:
            print(f"rollback refused: {exc}")
            return 1
        print(f"{source.name}: gold rolled back to publish {result.target.publish_id} "
              f"(run {result.target.run_id}, {result.target.run_date}); published as {result.publish_id}")
        for table, (version, now) in result.restored.items():
            print(f"  {table}: Delta version {version} restored as version {now}")
        return 0
    finally:
        conn.close()


if __name__ == "__main__":
    raise SystemExit(main())
