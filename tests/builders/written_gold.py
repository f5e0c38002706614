"""What every gold job must write, checked on the files it wrote: each declared table and nothing else,
a unique key without nulls, the quality gate's columns, not-null columns and bounds, flat column types,
small tables in one file, and every foreign key joining."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from pulse.sources.base import GoldTable
from pulse.warehouse import pg_type


def check_written_tables(root: Path, specs: Sequence[GoldTable], small_tables: Collection[str]
                         ) -> tuple[dict[str, pa.Schema], dict[str, int]]:
    """Check the gold tables under ``root`` against ``specs``; return their schemas and row counts. Names
    starting with ``_`` are the job's own bookkeeping (``_watermarks``, ``_counts.json``), and with ``.``
    the checksums Hadoop's local file system writes beside a file, not tables."""
    specs = {t.name: t for t in specs}
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(("_", "."))) == sorted(specs)
    tables = {name: DeltaTable(str(root / name)).to_pyarrow_table() for name in specs}
    for name, spec in specs.items():
        arrow = tables[name]
        assert arrow.num_rows > 0 or spec.allow_empty, name
        keys = list(zip(*(arrow.column(k).to_pylist() for k in spec.key), strict=True))
        assert len(keys) == len(set(keys)), f"{name} key {spec.key} is not unique"
        assert all(None not in k for k in keys), f"{name} has a null key"
        for field in arrow.schema:
            pg_type(field.type)  # raises on a nested type
        declared = set(spec.key) | set(spec.not_null) | set(spec.bounds)
        declared |= {c for fk in spec.references for c in fk.columns}
        declared |= {c for _, columns in spec.not_null_in for c in columns}
        assert declared <= set(arrow.schema.names), f"{name} lacks {declared - set(arrow.schema.names)}"
        for column in spec.not_null:
            assert arrow.column(column).null_count == 0, (name, column)
        for scope, columns in spec.not_null_in:  # the scope is SQL: DuckDB runs it on the Arrow table
            for column in columns:
                nulls = duckdb.sql(f'SELECT count(*) FROM arrow WHERE ({scope.condition}) AND "{column}" IS NULL')
                assert nulls.fetchall()[0][0] == 0, (name, scope.name, column)
        for column, (low, high) in spec.bounds.items():
            values = [v for v in arrow.column(column).to_pylist() if v is not None]
            assert all((low is None or v >= low) and (high is None or v <= high) for v in values), (name, column)
        if name in small_tables:
            assert len(DeltaTable(str(root / name)).file_uris()) == 1, name  # in the current version
    for spec in specs.values():
        for fk in spec.references:
            parent = tables[fk.table]
            assert set(fk.referenced) <= set(parent.schema.names), (spec.name, fk)
            known = set(zip(*(parent.column(c).to_pylist() for c in fk.referenced), strict=True))
            child = tables[spec.name]
            if fk.scope is not None:
                child = duckdb.sql(f"SELECT * FROM child WHERE {fk.scope.condition}").fetch_arrow_table()
            for values in zip(*(child.column(c).to_pylist() for c in fk.columns), strict=True):
                assert None in values or values in known, (spec.name, fk, values)
    return {n: t.schema for n, t in tables.items()}, {n: t.num_rows for n, t in tables.items()}
