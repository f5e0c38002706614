"""The quality gate's checks, derived from a source's :class:`~pulse.sources.base.GoldTable` specs.

The checks run against the staged tables (``staging_<source>``) with the common-sql provider's
``SQLTableCheckOperator`` (one per table: not empty, key unique, no nulls where none belong, values
within bounds; a check on some rows only carries them as its ``partition_clause``) and ``SQLCheckOperator``
(one per foreign key: every fact row, or every row in the key's scope, joins its dimension).
A failed check fails the gate, so the publish never runs and gold stays as it was.
"""

from __future__ import annotations

from pulse.sources.base import ForeignKey, GoldTable


def table_checks(table: GoldTable) -> dict[str, dict[str, str]]:
    """Named aggregate checks for ``SQLTableCheckOperator`` (each must be true)."""
    checks: dict[str, dict[str, str]] = {}
    if not table.allow_empty:
        checks["not_empty"] = {"check_statement": "COUNT(*) > 0"}
    key = ", ".join(table.key)
    distinct = f"({key})" if len(table.key) > 1 else key
    checks["key_unique"] = {"check_statement": f"COUNT(*) = COUNT(DISTINCT {distinct})"}
    for column in dict.fromkeys(table.key + table.not_null):
        checks[f"{column}_not_null"] = {"check_statement": f"COUNT({column}) = COUNT(*)"}
    for scope, columns in table.not_null_in:
        for column in columns:
            checks[f"{column}_not_null_in_{scope.name}"] = {"check_statement": f"COUNT({column}) = COUNT(*)",
                                                            "partition_clause": scope.condition}
    for column, (low, high) in table.bounds.items():
        conditions = []
        if low is not None:
            conditions.append(f"COALESCE(MIN({column}) >= {low}, TRUE)")
        if high is not None:
            conditions.append(f"COALESCE(MAX({column}) <= {high}, TRUE)")
        checks[f"{column}_within_bounds"] = {"check_statement": " AND ".join(conditions)}
    return checks


def orphan_rows_sql(schema: str, table: GoldTable, fk: ForeignKey) -> str:
    """A query whose single value is true when every row of ``table`` joins ``fk.table``."""
    join = " AND ".join(f"f.{c} = d.{r}" for c, r in zip(fk.columns, fk.referenced, strict=True))
    present = " AND ".join(f"f.{c} IS NOT NULL" for c in fk.columns)
    rows, name = f"{schema}.{table.name}", f"every_{table.name}_row"
    if fk.scope is not None:
        rows, name = f"(SELECT * FROM {rows} WHERE {fk.scope.condition})", f"{name}_in_{fk.scope.name}"
    return (
        f"SELECT COUNT(*) = 0 AS {name}_joins_{fk.table} "
        f"FROM {rows} f LEFT JOIN {schema}.{fk.table} d ON {join} "
        f"WHERE {present} AND d.{fk.referenced[0]} IS NULL"
    )


def failed_checks(conn, schema: str, tables: list[GoldTable]) -> list[str]:
    """The same checks as the gate's operators, run directly on ``schema`` (for a publish outside a DAG
    run, such as a rollback): the name of each check that is not true, as ``<table>.<check>``."""
    failed = []
    with conn.transaction():  # ends here even on a connection not in autocommit mode
        for table in tables:
            for name, check in table_checks(table).items():
                where = f" WHERE {check['partition_clause']}" if "partition_clause" in check else ""
                ok = conn.execute(f"SELECT {check['check_statement']} FROM {schema}.{table.name}{where}").fetchone()[0]
                if not ok:
                    failed.append(f"{table.name}.{name}")
            for fk in table.references:
                if not conn.execute(orphan_rows_sql(schema, table, fk)).fetchone()[0]:
                    failed.append(f"{table.name}.joins_{fk.table}")
    return failed
